-- One order_placed event per order: its time, id, source, item count and total.
SELECT
  amperity_id,
  order_time AS time,
  order_id,
  source,
  CAST(SUM(quantity) AS INTEGER) AS items,
  ROUND(SUM(quantity * price), 2) AS order_total
FROM order_lines
GROUP BY amperity_id, order_time, order_id, source
