"""Attribute mappings the activation tests share."""

# Every standard field with a customer_360 column to come from, plus two constants.
STANDARD_FROM_C360 = """
standard:
  first_name: customer_360.given_name
  email: customer_360.email
  phone: customer_360.phone
  dob: customer_360.birthdate
  gender: customer_360.gender
  country: customer_360.country
  home_city: customer_360.city
  language: {value: en}
  time_zone: {value: America/New_York}
"""
