-- loyalty_joined: when each member joined the loyalty programme, with their tier.
SELECT amperity_id, loyalty_joined_on AS time, loyalty_tier
FROM customer_360
WHERE loyalty_joined_on IS NOT NULL
