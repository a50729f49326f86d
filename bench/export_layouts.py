"""The vendors' export layouts: each system's CSV header as it exports it, in one place.

Both the committed export fixtures (``amperity_braze_assets_tests/fixtures/exports/
make_fixtures.py``) and the held-out exports trial (``bench/exports_trial.py``) write their files in
these layouts and load this module by path (bench/ is not a package).
"""

from __future__ import annotations

# Shopify admin > Customers > Export (the 2024 layout).
SHOPIFY_CUSTOMER_HEADER = [
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
    "Default Address Company", "Default Address Address1", "Default Address Address2",
    "Default Address City", "Default Address Province Code", "Default Address Country Code",
    "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
    "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
]  # fmt: skip

# Shopify admin > Orders > Export: one row per line item.
SHOPIFY_ORDER_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City",
    "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone", "Notes",
    "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount",
    "Vendor", "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags",
    "Risk Level", "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name",
    "Tax 2 Value", "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name",
    "Tax 5 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name",
    "Shipping Province Name", "Payment ID", "Payment Terms Name", "Next Payment Due At",
    "Payment References",
]  # fmt: skip
# Order-level columns: Shopify writes them on an order's first line-item row only.
ORDER_LEVEL = [
    "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
    "Discount Amount", "Shipping Method", "Billing Name", "Billing Street", "Billing Address1",
    "Billing Address2", "Billing City", "Billing Zip", "Billing Province", "Billing Country",
    "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1",
    "Shipping Address2", "Shipping City", "Shipping Zip", "Shipping Province",
    "Shipping Country", "Shipping Phone", "Cancelled at", "Payment Method", "Refunded Amount",
    "Outstanding Balance", "Id", "Risk Level", "Source",
]  # fmt: skip

# A Salesforce contacts report exported as CSV.
SALESFORCE_HEADER = [
    "Contact ID", "First Name", "Last Name", "Account Name", "Title", "Email", "Phone",
    "Mobile", "Mailing Street", "Mailing City", "Mailing State/Province",
    "Mailing Zip/Postal Code", "Mailing Country", "Birthdate", "Loyalty Tier", "Lead Source",
    "Created Date", "Last Modified Date",
]  # fmt: skip

# Square Dashboard > Customers > Export.
SQUARE_HEADER = [
    "Square Customer ID", "First Name", "Last Name", "Email Address", "Phone Number",
    "Nickname", "Company Name", "Street Address 1", "Street Address 2", "City", "State",
    "Postal Code", "Birthday", "Memo", "Reference ID", "Creation Source", "First Visit",
    "Last Visit", "Transaction Count", "Total Spend", "Email Subscription Status",
    "Instant Profile",
]  # fmt: skip

# A Mailchimp audience export.
MAILCHIMP_HEADER = [
    "Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday",
    "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LATITUDE",
    "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED", "LEID", "EUID",
    "NOTES", "TAGS",
]  # fmt: skip
