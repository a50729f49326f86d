-- Buyers with the most spend in the last 12 months; value_rank becomes a custom attribute.
SELECT
    amperity_id,
    CAST(monetary_decile AS BIGINT) AS value_rank
FROM customer_transactions
WHERE l12m_monetary >= 150 AND monetary_decile >= 8
