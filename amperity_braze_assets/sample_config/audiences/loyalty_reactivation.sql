-- Loyalty members with an email who have not ordered in 180 days (or never).
SELECT c.amperity_id
FROM customer_360 AS c
LEFT JOIN customer_transactions AS t ON t.amperity_id = c.amperity_id
WHERE c.loyalty_tier IS NOT NULL
  AND c.email IS NOT NULL
  AND (t.days_since_last_order IS NULL OR t.days_since_last_order > 180)
