-- A second-stage audience: it reads braze_customer_attributes (so it is computed after it, in
-- braze_attribute_audiences) and names its members by the table's identifier. Lapsing here is
-- the lifecycle_status attribute exactly as Braze will hold it.
SELECT external_id
FROM braze_customer_attributes
WHERE lifecycle_status = 'lapsing'
