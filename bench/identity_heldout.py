"""Held-out customer records with ground truth, to measure identity-resolution precision and recall.

    .venv/bin/python bench/identity_heldout.py --persons 100000 --scenario three_sources

``generate(persons, seed, scenario)`` returns ``(records, truth, relations)``:

- ``records``: one row per source record, raw text as the source system exports it, in the tag
  vocabulary ``source, record_id, given_name, surname, full_name, email, phone, address, address2,
  city, state, postal, country, birthdate, gender`` (all strings; null where the source has no
  such field or the record left it empty);
- ``truth``: ``source, record_id, person``;
- ``relations``: ``person_a < person_b, kind``: pairs of *different* people that look alike.
  ``namesake``: same given name and surname (folded), different household; ``household``: living
  together (a Jr/Sr pair is a household pair); ``twin``: twins (listed only as twin);
  ``shared_email``: two people using one address (also listed as household).

Scenarios:

- ``three_sources``: a POS/till export (upper case, ``SURNAME, GIVEN`` names, phones as typed,
  store-specific date formats), a Shopify customers export (E.164 phones, province/country codes,
  no birthdate) and Salesforce contacts (Phone or MobilePhone, multi-line MailingStreet,
  ``YYYY-MM-DD`` birthdates), with duplicate registrations inside each source. ~1.5 records a person.
- ``retail_exports``: a Shopify customers export plus a Salesforce contacts report of one brand in
  the US and Canada (a few UK), ~5k records at 3,300 persons, as a new user would have them.

As in real exports, nearly every pair of one person's records shares an email, a phone or a
street address (the web shop and the CRM are keyed by email, the till looks people up by phone);
pairs sharing only a name are mostly namesakes, plus a few walk-ins and typos (``LINK_*``).

This module is written independently of the project's matcher and sample data: the name lists,
nicknames, formats and rates below come from general knowledge of real customer files, so it checks
identity resolution on data its tuning never saw. Generation is vectorised (numpy + polars): loops
run over name lists, household positions, countries and sources, never over records. The same seed
gives identical frames. ``generate_detailed`` also returns the per-person ground truth (movers,
twins, maiden names, ...) that the summary and the tests use.
"""

from __future__ import annotations

import argparse
import functools
import resource
import time
import unicodedata
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

# =====================================================================================
# Rates (fractions of people, households or records; "records" means that source's records)
# =====================================================================================

REF_DATE = date(2025, 6, 1)  # "today" for ages
AGE_MIN, AGE_MAX = 18, 90  # adults; weights ramp 18-25, plateau 25-65 (bump 30-55), fall to 90

# Household sizes among customers of one brand (most co-residents are not customers).
HOUSEHOLD_SIZE_P = (0.915, 0.062, 0.017, 0.006)  # sizes 1, 2, 3, 4: ~16% of people share a home
# Second member of a two-person household.
PAIR_ROLE_P = {"spouse": 0.62, "child": 0.20, "junior": 0.05, "twin": 0.06, "roommate": 0.07}
BIG_HOUSEHOLD_SPOUSE = 0.85  # 3-4 person households: second member is a spouse, else a child
TWIN_AMONG_CHILDREN = 0.18  # a later child is the twin of the previous child
SPOUSE_SAME_SURNAME = 0.72
SPOUSE_HYPHENATED = 0.04  # "Maiden-Husband"
CHILD_OTHER_SURNAME = 0.07
MARRIED_NAME_CHANGE = 0.25  # wives sharing the spouse's surname, maiden name still in a source
SINGLE_WOMAN_MAIDEN = 0.02  # women whose spouse is not a customer, same effect
TWIN_SIMILAR_NAME = 0.5  # Mary/Maria, Daniel/Danielle
SHARED_EMAIL_HOUSEHOLDS = 0.22  # multi-person households using one email address
SHARED_EMAIL_FAMILY_HANDLE = 0.35  # ... a family handle (thesmiths@) rather than one member's own
NAMESAKE_INJECT = 0.0025  # extra people given another person's given name and surname
NAMESAKE_OTHER_COUNTRY = 0.2
MOVER_HOUSEHOLDS = 0.08  # old address and phone in one source, current in the others, same email
TWO_EMAILS = 0.12  # work or second personal email used in one source
TWO_EMAILS_WORK = 0.55
TWO_EMAILS_OTHER_PHONE = 0.35  # ... with a work phone there too
HAS_EMAIL, HAS_EMAIL_OVER_75 = 0.93, 0.72
HAS_MOBILE, HAS_MOBILE_OVER_75 = 0.90, 0.70
SINGLE_LANDLINE = 0.30  # single-person households with a home phone (all larger ones have one)
HAS_UNIT_NA, HAS_FLAT_UK = 0.26, 0.15
QC_FRENCH_ADDRESS = 0.75  # Quebec addresses written "1234 rue Saint-Denis"
MIDDLE_NAME = 0.55
GOES_BY_NICKNAME = 0.30  # people whose name has nicknames and who use one
EAST_ASIAN_ENGLISH_NAME = 0.35  # Wei who also goes by David
GENDER_FEMALE, GENDER_X = 0.53, 0.01
# Cashiers typing the store's own phone when a customer gives none: a habit of some stores
# (rates among till records without a phone: ~2.5% of all till records at habit stores).
STORE_PHONE_HABIT_STORES, STORE_PHONE_HABIT_RATE, STORE_PHONE_OTHER_RATE = 0.25, 0.35, 0.015
# How the records of one person link up. In real exports the web shop and the CRM are keyed by
# email (Salesforce contacts are made from Shopify customers and web forms), the till looks
# customers up by phone, a person gives the same number everywhere, a duplicate registration
# re-uses an email or phone and a second Shopify account ships to the same home: nearly every pair
# of one person's records shares an email, a phone or a street address, and pairs sharing only a
# name are mostly namesakes. After the per-source fill rates below are drawn, a pair of one
# person's records that would share none of the three gets one of them (``_contact_plan``: the
# record with a second email keeps the shared phone or address, a mover's old-address record the
# email), except:
LINK_WALK_IN_KEEP = 0.15  # till records with neither email nor phone that stay so (name only)
LINK_UNLINKED = 0.004  # any other pair of one person's records, left sharing nothing
LINK_TILL_PHONE_FIRST = 0.7  # a pair with a till record is linked by phone rather than email
LINK_DUP_OTHER_PHONE = 0.3  # duplicate registrations under the person's other phone number
# Measured at 65k people (seeds 0-3), same-person record pairs sharing no email, phone, address
# or birth date (simply normalised; typos, 7-digit phones and walk-ins make them): three_sources
# 2.3-2.5% (32% with independent fill rates), retail_exports 0.4-0.8% (21%). Fill rates rise a
# little: till email 0.49 -> 0.54, phone 0.70 -> 0.78, address 0.40 -> 0.44; Shopify phone
# 0.37 -> 0.44, address 0.67 -> 0.71; Salesforce email 0.81 -> 0.83, phone 0.73 -> 0.77.

SCENARIOS = {
    "three_sources": {
        "countries": {"US": 0.55, "CA": 0.40, "GB": 0.05},
        # each person is in each source with this chance (those in none get one): ~1.5 records
        "membership": {"pos": 0.50, "shopify": 0.45, "salesforce": 0.25},
    },
    "retail_exports": {
        "countries": {"US": 0.55, "CA": 0.42, "GB": 0.03},
        "membership": {"shopify": 0.80, "salesforce": 0.56},
    },
}
SHOPIFY_OVER_70 = 0.5  # older people are less often online shoppers

# Per-source record rates (fill rates apply to records whose person has the value).
# fmt: off
_SOURCE_RATE_TABLE = """
rate                   pos    shopify salesforce  meaning
dup                    0.06   0.04    0.08        duplicate registration (2nd card, 2nd account, dup contact)
dup_other_email        0.25   1       0.25        ... under the second email (Shopify: emails are unique)
email                  0.45   0.97    0.86        email captured
placeholder_email      0.06   0      0.03         no email: none@none.com, test@test.com typed instead
email_upper            0.20   0.01    0.02        email in upper case
email_case             0.03   0.04    0.03        email capitalised (John.smith@, John.Smith@Gmail.Com)
email_domain_typo      0.012  0.008   0.006       gmial.com, yahoo.cm, hotmail.co
email_local_typo       0.006  0.004   0.004       typo before the @
phone                  0.72   0.38    0.76        phone captured
home_phone_pref        0.45   0.25    0.50        home rather than mobile when a person has both
store_phone            1      0       0           x the store's own rate (STORE_PHONE_*)
junk_phone             0.045  0       0.025       0000000000, 555-555-5555 typed for "no phone"
address                0.38   0.66    0.70        street address captured
postal_only            0.17   0       0.05        only the postal code
postal_nospace         0.55   0.20    0.12        V6B1A1, SW1A1AA
postal_lower           0      0.08    0           v6b 1a1
zip_plus4              0      0.12    0.18        98101-2345
zip_lost_zero          0.40   0       0.06        02134 stored as a number: 2134
zip_apostrophe         0      0.02    0           '02134 (spreadsheet-protected)
birthdate              0.30   0       0.45        birth date captured (Shopify has none)
placeholder_birthdate  0.015  0       0.01        1900-01-01 or 1970-01-01
birthdate_error        0.01   0       0.006       year off by one, or day and month swapped
gender                 0.25   0       0.35        gender captured
junk_name              0.006  0.002   0.003       GUEST, N/A, UNKNOWN as the name
nick_goer              0.70   0.60    0.35        nickname used, by people who go by one
nick_casual            0.04   0.05    0.02        nickname used, by anyone else whose name has one
initial                0.02   0.008   0.015       given name as an initial (J. / J)
middle                 0.05   0.02    0.03        middle initial appended (John A.)
typo_given             0.03   0.012   0.015       keyboard typo in the given name (x3 on duplicates)
typo_surname           0.03   0.015   0.015       keyboard typo in the surname (x3 on duplicates)
swap                   0.012  0.006   0.008       given name and surname swapped
missing_given          0.015  0.02    0.01        given name missing
missing_surname        0.01   0.025   0.015       surname missing (Salesforce: "Unknown" and friends)
suffix                 0.50   0.30    0.50        Jr/Sr written, for people who have one
strip_diacritics       1      0.15    0.08        accents dropped (POS is plain upper case)
german_fold            0.35   0.30    0.30        ... as Mueller rather than Muller
mojibake               0      0       0.15        MÃ¼ller: a CSV opened with the wrong encoding
whitespace             0.02   0.03    0.015       leading, trailing or doubled spaces
city_alias             0.10   0.12    0.08        Montreal for Montréal, NYC for New York
"""
# fmt: on
SOURCE_RATES: dict[str, dict[str, float]] = {
    source: {
        row.split()[0]: float(row.split()[1 + i])
        for row in _SOURCE_RATE_TABLE.strip().splitlines()[1:]
    }
    for i, source in enumerate(("pos", "shopify", "salesforce"))
}

PLACEHOLDER_EMAILS = (
    "none@none.com",
    "noemail@gmail.com",
    "test@test.com",
    "na@na.com",
    "noemail@noemail.com",
    "no@email.com",
    "declined@declined.com",
)
JUNK_PHONES = (
    "0000000000",
    "1234567890",
    "555-555-5555",
    "9999999999",
    "000-000-0000",
    "1111111111",
)
JUNK_NAMES_POS = ("GUEST", "CASH CUSTOMER", "N/A", "UNKNOWN", "WALK IN", "CUSTOMER, VALUED")
JUNK_NAMES_FIRST = ("N/A", "Unknown", "Guest", "Customer", "NA", "-")
SF_MISSING_LASTNAME = ("Unknown", "UNKNOWN", "[not provided]", "-", "N/A", "NA")

# =====================================================================================
# Name lists (written for this benchmark; ordered roughly by frequency, head first).
# Underscores stand for spaces inside a name ("De_La_Cruz").
# =====================================================================================

_SURNAMES = {
    "anglo": """
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson
Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams
Baker Nelson Mitchell Campbell Roberts Carter Phillips Evans Turner Parker Collins Edwards Stewart
Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell Kelly Howard Cox Ward Richardson
Wood Watson Brooks Bennett Gray James Hughes Price Sanders Myers Long Ross Foster Powell Jenkins
Perry Russell Sullivan Fisher Henderson Coleman Simmons Patterson Jordan Reynolds Hamilton Graham
Wallace West Cole Hayes Bryant Gibson Ellis Stevens Murray Ford Marshall Owens McDonald Harrison
Kennedy Wells Tucker Porter Hunter Hicks Crawford Henry Boyd Mason Warren Dixon Burns Gordon Shaw
Holmes Rice Robertson Hunt Black Daniels Palmer Mills Grant Knight Ferguson Stone Hawkins Dunn
Perkins Hudson Spencer Stephens Pierce Lawrence Berry Matthews Arnold Wagner Willis Ray Watkins
Olson Carroll Duncan Snyder Hart Cunningham Bradley Lane Andrews Harper Fox Riley Armstrong
Carpenter Weaver Greene Lawson Elliott Gardner Payne Kelley Dunn Pierce Schmidt Carr Hanson
Franklin Lynch Bishop Fields Little Banks Burke Sanford Burton Holland Day Oliver Wheeler Hansen
Larson Austin Chapman Hopkins Webb Ramsey Welch Newman Webster Lambert Wade Barker Walsh Ryan
Quinn Doyle Byrne Fitzgerald Gallagher Brennan Nolan Flynn Kavanagh O'Brien O'Connor O'Neill
O'Sullivan O'Reilly O'Donnell O'Leary O'Hara O'Keefe O'Malley O'Rourke McCarthy McLaughlin
MacDonald MacLeod McKenzie McGregor McKay McLean McIntosh MacKinnon McNeil McKinney McGuire
Fitzpatrick Doherty Maguire Mulligan Keane Dunne Kerr Sinclair Fraser Cameron Munro Grant Stewart
Lawrie Buchanan Ritchie Paterson Henderson Mackie Bruce Wallace Hamilton Boyle Reid Kirk Barr
Fleming Gillespie Weir Hogg Baird Findlay Drummond Christie Lindsay Moffat Morrison Docherty
Holt Burgess Chambers Knowles Pearson Clarke Hall Lee Walsh Jennings Hale Holloway Rhodes Wilkinson
Atkinson Marsh Bates Barnes Dawson Howell Glover Hardy Sutton Booth Lloyd Ellison Norris Caldwell
Bowen Hammond Kirby Sharp Frost Bowman Curtis Fuller Hawkins Pope Rowe Nash Reeves Horton
Conner Stanley Dennis Gilbert Moss Francis Barber Parsons Byrd Shelton Barnett Warner Lyons
Keller Fletcher Harmon Wilkins Sherman Floyd Hubbard Graves Griffith Benson Douglas Potter
Norton Walters Abbott Mann Brewer Underwood Bass Briggs Tate Chandler Logan Cross Osborne
Owen Page Stokes Haynes Blair Bryan Fowler Walton Steele Whitaker Sparks Hodges Ingram Pittman
Swanson Wolfe Lowe Hodge Cannon Kramer Hogan Ball Hood Moody Sharpe Buckley Bolton Hewitt
Newton Whitehead Kemp Nicholson Thornton Cartwright Pritchard Vaughan Lowry Doyle Craig Sutherland
Rowland Goodwin Dyer Gregory Schofield Farmer Coates Bradshaw Wheeler Mellor Dalton Rees Jarvis
Dickinson Fisher Hargreaves Slater Blackburn Whittaker Cartwright Gough Cooke Ashton Brady Burrows
Abbott Ackerman Adkins Albright Alexander Allison Alston Ames Anthony Archer Ashby Atkins Avery
Bain Baldwin Ballard Barlow Barnard Barnhart Barrett Barton Baxter Beasley Benjamin Bentley Benton
Best Bird Blackwell Blake Blanchard Bloom Bond Booker Boone Bowers Bowles Boyer Bradford Bray
Bridges Britt Brock Bronson Browning Buck Buckner Bullock Burch Burnett Burris Bush Butler Cain
Calhoun Callahan Camp Carey Carlson Carney Carson Carver Case Cash Chaney Chase Cherry Church Clay
Clayton Clements Cline Cobb Cochran Coffey Cohen Collier Combs Compton Conley Conway Copeland
Cotton Craft Crane Crosby Cummings Curry Dale Daniel Daugherty Davenport Dean Decker Delaney
Dickerson Dillon Dodson Donovan Dorsey Dotson Downs Drake Dudley Duffy Duke Dunlap Durham Eaton
Emerson England Erickson Estes Everett Farley Farrell Faulkner Fay Finch Finley Forbes Foley
Forrest Frazier Freeman French Frye Gaines Galloway Gamble Garner Garrett Garrison Gates Gentry
Gibbs Gill Gilmore Glass Glenn Golden Goodman Gould Greer Griffin Grimes Gross Guthrie Hancock
Hardin Harrell Hartman Harvey Hatfield Hayden Head Heath Hendrix Hensley Herring Hess Hester
Hickman Higgins Hines Hinton Hobbs Hoffman Holden Holder Holley Hooper Hoover Horne Houston Howe
Huff Huffman Hull Humphrey Hurst Hutchinson Hyde Irwin Jacobs Jefferson Johns Johnston Joyce
Kane Kaufman Keith Kent Kidd Kinney Kirkland Knapp Knox Lamb Lancaster Langley Leach Leonard
Levine Levy Lindsey Livingston Love Lowery Lucas Lyon Mack Madden Maddox Malone Manning Marks
Massey Mathews Maxwell May Maynard McBride McCall McClain McConnell McCormick McDaniel McFarland
McKnight Meadows Melton Mercer Merrill Merritt Middleton Miles Monroe Montgomery Moon Mooney
Morrow Morse Morton Mosley Mullins Neal Noble Norman Odom Orr Osborn Pace Parks Parrish Patrick
Patton Paul Pearce Peck Pennington Phelps Pickett Pitts Pollard Poole Potts Powers Pratt Preston
Prince Pruitt Puckett Rankin Ratliff Reese Reilly Rich Richards Riddle Rivers Roach Robbins
Rodgers Rollins Rose Rush Rutledge Sampson Sargent Saunders Savage Sawyer Schultz Schwartz Sears
Sellers Sexton Shaffer Shannon Shepard Shepherd Short Simpson Sims Skinner Sloan Small Snow
Solomon Spears Stafford Stark Stephenson Stevenson Stout Strickland Strong Stuart Summers Sweeney
Tanner Terrell Terry Tillman Todd Townsend Travis Tyler Valentine Vance Vaughn Vincent Wall
Waller Ware Watts Weeks Weiss Whitley Whitney Wiggins Wilcox Wiley Wilkerson Williamson Winters
Wise Witt Woodard Woods Workman Wyatt Yates York Wong Chan Lee Ng Singh Khan Ali Ahmed Patel
Nguyen Tran Kim Park
""",
    "hispanic": """
García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera
Gómez Díaz Cruz Reyes Morales Gutiérrez Ortiz Chávez Ramos Ruiz Álvarez Mendoza Castillo Jiménez
Vásquez Moreno Herrera Medina Aguilar Vargas Guzmán Méndez Castro Romero Fernández Muñoz Rojas
Salazar Delgado Soto Contreras Silva Sandoval Guerrero Estrada Ríos Núñez Domínguez Vega Ortega
Marín Campos Figueroa Valdez Cabrera Juárez Luna Molina Espinoza Acosta Ibarra Navarro Santiago
Fuentes Carrillo Cortés Ayala Miranda Pacheco Lara Bautista Meza Rosales Orozco Salas Mejía
Cervantes Velásquez Padilla Sosa Maldonado Vázquez Camacho Trujillo Villarreal Zamora Galván
Serrano Rosario Beltrán Valencia Márquez Arias Duarte Ochoa Escobar Solís Ponce Cardenas Robles
Ávila Trevino Lozano Peña Calderón Montoya Tapia Rangel Cisneros Macías Avalos Zúñiga Benítez
Cordero Quintero Santana Garza Villanueva Arellano Osorio Gallegos Cuevas Rivas Barrera Bonilla
Alvarado Velázquez Hidalgo Marroquín Rincón Sepúlveda Trejo Uribe Montes Lugo Franco Carmona
Suárez Palacios Olivares Leyva Bermúdez Andrade Barrios Fajardo Ibáñez Quiroga Córdova Toledo
De_La_Cruz De_Los_Santos De_Jesús Del_Río De_León Del_Valle De_la_Rosa San_Martín
""",
    "filipino": """
Santos Reyes Cruz Bautista Ocampo Garcia Mendoza Torres Tomas Andrada Castillo Flores Villanueva
Ramos Castro Rivera Aquino Navarro Salazar Mercado De_Leon Del_Rosario De_Guzman Dela_Cruz Manalo
Pascual Dizon Soriano Lopez Gonzales Aguilar Fernandez Rosales Santiago Domingo Gutierrez Valdez
Panganiban Macaraeg Magbanua Dimaculangan Sison Tolentino Alcantara Evangelista Lacson Mangahas
""",
    "french": """
Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné Ouellet Pelletier Bélanger
Lévesque Bergeron Leblanc Paquette Girard Simard Boucher Caron Beaulieu Cloutier Dubé Poirier
Fournier Lapointe Leclerc Lefebvre Poulin Thibault St-Pierre Nadeau Martel Gilbert Hébert
Lachance Richard Bernier Chabot Desjardins Vallée Demers Lemieux Proulx Mercier Michaud Bouchard
Savard Bédard Dufour Brunet Chartrand Beauchamp Marcoux Charbonneau Lacroix Landry Cormier
Arsenault Thériault Boudreau LeBlanc Doucet Robichaud Leclair Turcotte Vachon Rousseau Blais
Dion Audet Perreault Labelle Deschamps Champagne Paradis Boivin Raymond Jolicoeur Larouche
Desrosiers Carrier Tessier Picard Guay Asselin Bisson Dumont Lussier Goulet Gervais Boisvert
St-Onge Ste-Marie Laflamme Drouin Frenette Grenier Hamel Labbé Lalonde Lemay Ménard Rioux
Sauvé Tanguay Vaillancourt Forget Després Duchesne Gosselin Jacques Labrecque Lafleur
""",
    "chinese": """
Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao Luo Zheng Liang Xie
Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du Ye Cheng Wei Su Lu
Ding Ren Shen Yao Cui Zhong Tan Fan Wong Chan Lee Leung Cheung Lau Ho Ng Chow Tsang Yip Kwok Lam Tam
Mak Chiu Fung Kwan Yeung Choi Fong Au Lo Tse Chung Hui Kwong Szeto Ou-Yang
""",
    "vietnamese": """
Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Trương Đinh Lâm Mai
Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly Truong
""",
    "korean": """
Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Han Oh Seo Shin Kwon Hwang Ahn Song Jeon Hong Yoo Ko
Moon Yang Son Bae Baek Heo Nam Noh
""",
    "japanese": """
Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada Sasaki
Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu Yamazaki Mori Abe Ikeda Hashimoto Ishikawa Ogawa
""",
    "south_asian": """
Patel Singh Shah Sharma Kumar Gill Khan Sandhu Dhillon Grewal Sidhu Brar Gupta Mehta Desai Joshi
Reddy Rao Iyer Nair Menon Pillai Verma Agarwal Chopra Kapoor Malhotra Bhatt Chaudhry Choudhury
Ahmed Ali Hussain Rahman Chowdhury Hossain Akhtar Qureshi Siddiqui Malik Iqbal Butt Mirza Sheikh
Banerjee Chatterjee Mukherjee Das Bose Ghosh Sen Dutta Krishnan Subramanian Venkatesan Raman
Srinivasan Narayanan Ramachandran Balasubramanian Thakur Pandey Mishra Tiwari Trivedi Dubey Jain
Bhatia Sethi Arora Khanna Bajwa Randhawa Mann Aulakh Sangha Johal Toor Virk Cheema Parmar Solanki
Chauhan Rathod Naidu Goswami Kaur Dhaliwal Bains Hundal Atwal
""",
    "german": """
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer
Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange
Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer
Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther
Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter
Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas
Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt
Sauer Arnold Wolff Pfeiffer Eichhorn Oberländer Weißmann Stoltzfus Yoder Hershberger
""",
    "polish": """
Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak
Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Wojciechowski Krawczyk Kaczmarek Piotrowski Grabowski
Zając Pawłowski Michalski Król Wieczorek Jabłoński Wróbel Nowakowski Majewski Olszewski Jaworski
Stępień Malinowski Górski Rutkowski Sikora Baran Duda Szewczyk Tomaszewski Pietrzak Marciniak
Wysocki Sadowski Zawadzki Chmielewski Borkowski Czarnecki Sawicki Sokołowski Urbański Kubiak
Maciejewski Szczepański Kucharski Wilczyński Kalinowski Lis Mazurkiewicz Krajewski Przybylski
Makowski Adamczyk Dudek Zalewski Wasilewski Błaszczyk Gajewski Ostrowski Kołodziej Żak Kowalewski
Łukasik Głowacki Śliwiński Ślusarczyk Kaźmierczak Żukowski Piątek Dziedzic Gołębiowski Bąk
""",
    "italian": """
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti De_Luca
Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi Caruso
Ferrara Galli Martini Leone Longo Gentile Martinelli Vitale Lombardo Serra Coppola De_Santis
D'Angelo Marchetti Parisi Villa Conte Ferraro Ferri Fabbri Bianco Marini Grasso Valentini
Messina Sala De_Angelis Gatti Pellegrini Palumbo Sanna Farina Rizzi Monti Cattaneo Morelli
Amato Silvestri Mazza Testa Grassi Pellegrino Carbone Giuliani Benedetti Barone Rossetti
Caputo Montanari Guerra Palmieri Bernardi Martino Fiore De_Rosa Ferretti Bellini Basile Riva
Donati Piras Vitali Battaglia Sartori Neri Costantini Milani Pagano Ruggiero Sorrentino
D'Amico Orlando Damico Negri Mangano Lo_Russo DiMaggio Di_Stefano Di_Pietro
""",
    "scandinavian": """
Andersen Hansen Johansen Nielsen Jensen Pedersen Larsen Sørensen Rasmussen Jørgensen Petersen
Kristensen Olsen Thomsen Christensen Poulsen Johansson Andersson Karlsson Nilsson Eriksson Larsson
Olsson Persson Svensson Gustafsson Pettersson Jonsson Lindberg Lindqvist Lindström Bergström
Lundqvist Bergqvist Sjöberg Holmberg Ekström Strøm Haugen Berg Dahl Lund Halvorsen Bakke
Søren Østergaard Bjørklund Åberg Nygård Lindgren Håkansson Fjeld Solberg Hagen Moen Vik
""",
    "slavic": """
Ivanov Smirnov Kuznetsov Popov Vasiliev Petrov Sokolov Mikhailov Novikov Fedorov Morozov Volkov
Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev Orlov Andreev Makarov Zakharov
Shevchenko Kovalenko Bondarenko Tkachenko Kravchenko Koval Oliynyk Shevchuk Polishchuk Melnyk
Boyko Kovalchuk Savchenko Rudenko Marchenko Lysenko Petrenko Moroz Horvat Novák Dvořák Svoboda
Černý Procházka Kučera Veselý Horváth Nagy Kovács Szabó Tóth Varga Popescu Ionescu Popa
""",
    "arabic": """
Haddad Khoury Nasser Hassan Hussein Ibrahim Mahmoud Saleh Abdullah Mansour Khalil Aziz Farah
Habib Karam Saad Yousef Ahmad Mohamed Ali Rahman Said Hamdan Darwish Najjar Sabbagh Shamoun
Al-Sayed Al-Khatib El-Amin Abdel-Malek Bishara Awad Jaber Salem Suleiman Issa Barakat Zaher
""",
    "african": """
Okafor Okonkwo Adeyemi Adebayo Mensah Boateng Owusu Osei Asante Nwosu Eze Okeke Chukwu Ogunleye
Abubakar Bello Mohammed Diallo Traoré Keita Ndiaye Mbeki Dlamini Nkosi Kamau Otieno Mwangi Wanjiru
Achebe Obi Oyelaran Babatunde Afolabi Ogbonna Tesfaye Bekele Haile Girma Abebe
""",
    "greek": """
Papadopoulos Papadakis Georgiou Nikolaou Konstantinou Dimitriou Ioannou Vlachos Papageorgiou
Christodoulou Athanasiou Pappas Karras Economou Stavros Antonopoulos Makris Alexiou Kostas
""",
    "portuguese": """
Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Jesus Sousa Fernandes Gonçalves
Gomes Lopes Marques Alves Almeida Ribeiro Pinto Carvalho Teixeira Moreira Correia Mendes Nunes
Soares Vieira Monteiro Cardoso Rocha Raposo Medeiros Da_Silva Dos_Santos De_Souza Da_Costa
""",
    "dutch": """
De_Jong Jansen De_Vries Van_den_Berg Van_Dijk Bakker Janssen Visser Smit Meijer De_Boer Mulder
De_Groot Bos Vos Peters Hendriks Van_Leeuwen Dekker Brouwer De_Wit Dijkstra Smits De_Graaf
Van_der_Meer Van_der_Linden Kok Jacobs De_Haan Vermeulen Van_den_Heuvel Van_der_Veen Van_Dyke
Vandenberg Vanderveen Schouten Hoekstra
""",
}

# Given names: male, female per group.
_GIVEN = {
    "anglo": (
        """James Michael John Robert David William Richard Joseph Thomas Christopher Charles Daniel
        Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy
        Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin
        Scott Brandon Benjamin Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry
        Tyler Aaron Adam Henry Nathan Douglas Zachary Peter Kyle Walter Ethan Jeremy Harold Keith
        Christian Roger Noah Gerald Carl Terry Sean Austin Arthur Lawrence Jesse Dylan Bryan Joe
        Jordan Billy Bruce Albert Willie Gabriel Logan Alan Wayne Roy Ralph Randy Eugene Vincent
        Russell Elijah Louis Bobby Philip Johnny Craig Shawn Travis Curtis Derek Trevor Colin
        Graham Ian Neil Darren Barry Stuart Glenn Dale Cody Troy Marcus Lucas Mason Owen Liam
        Connor Caleb Hunter Evan Luke Isaac Levi Carter Wyatt Gavin Chase Blake Spencer Mitchell
        Clayton Dustin Brett Chad Todd Jared Corey Shane Garrett Seth Grant Wesley Jay Martin
        Francis Howard Leonard Stanley Norman Clifford Herbert Lloyd Earl Melvin Leroy Vernon Duane
        Marvin Jimmy Alfred Nathaniel Julian Dominic Declan Callum Rhys Alistair Hamish Angus
        Malcolm Fergus Gareth Nigel Clive Trent Brent Ross DeShawn Tyrone Jamal Darnell Terrell""",
        """Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy
        Betty Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah
        Stephanie Dorothy Rebecca Sharon Laura Cynthia Amy Kathleen Angela Shirley Brenda Emma
        Anna Pamela Nicole Samantha Katherine Christine Helen Debra Rachel Carolyn Janet Maria
        Catherine Heather Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren Kelly Christina
        Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria Sara
        Janice Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace Amber Denise
        Danielle Marilyn Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori
        Marie Tiffany Crystal Erin Jill Tracy Wendy Dawn Tammy Holly Kristen Lindsay Chelsea
        Courtney Brianna Jasmine Chloe Ella Avery Lily Zoe Leah Paige Erica Caroline Claire Colleen
        Bonnie Peggy Sheila Gail Lorraine Paula Roberta Joanne Mary_Ann Kaitlyn Allison Morgan
        Taylor Haley Brooke Shannon Kristin Monica Vanessa Melanie Tara Renee Stacy April Tanya
        Valerie Yvonne Jodi Kara Meghan Bridget Fiona Siobhan Gemma Louise Kirsty Nicola Lucy
        Sophie Georgia Eleanor Harriet Imogen Freya Josephine Michelle Mariah Latoya Keisha Aaliyah
        Ebony Shanice Alexandra Alison Jane Joanna Elaine Sally Penelope Eileen Maureen Geraldine""",
    ),
    "hispanic": (
        """José Juan Luis Carlos Jesús Jorge Miguel Antonio Francisco Manuel Pedro Alejandro
        Ricardo Roberto Fernando Eduardo Javier Rafael Sergio Raúl Mario Héctor Arturo Enrique
        Alberto Ramón Víctor Óscar Andrés Diego Gerardo Rubén Ignacio Guillermo Armando Salvador
        Joaquín Julio César Ernesto Gustavo Emilio Ángel Martín Santiago Mateo Juan_Carlos""",
        """María Guadalupe Rosa Ana Carmen Juana Margarita Verónica Elena Sofía Isabel Gabriela
        Alejandra Adriana Patricia Leticia Claudia Teresa Lucía Yolanda Sandra Silvia Mónica Lorena
        Beatriz Marisol Daniela Valentina Camila Ximena Paola Raquel Esperanza Luz Martha Marta
        Dolores Pilar Inés Consuelo Natalia María_José Ana_María Mariana""",
    ),
    "filipino": (
        """Jose Juan Mark John_Paul Jerome Rommel Jun Ramon Rodel Romeo Arnel Ariel Noel Renato
        Jericho Marvin Ronaldo Edgardo Rolando Danilo Reynaldo Jonathan Christian Michael""",
        """Maria Maricel Rowena Marites Jocelyn Lourdes Rosario Analyn Mary_Grace Kristine Jennifer
        Cristina Ma._Theresa Imelda Corazon Lorna Rhodora Charmaine Aileen Rachelle Jasmin Angelica""",
    ),
    "french": (
        """Jean Pierre Michel André Luc Marc Jacques Denis Claude Alain Sylvain Stéphane Mathieu
        François Guillaume Benoît Éric Jean-François Jean-Philippe Jean-Sébastien Simon Louis
        Philippe Patrice Réjean Gilles Yves Gaétan Normand Sébastien Frédéric Olivier Alexandre
        Maxime Félix Gabriel Antoine Étienne Vincent Jean-Marc Jean-Guy""",
        """Marie Nathalie Isabelle Sylvie Julie Chantal Johanne Josée Manon Lucie Diane Line Sophie
        Catherine Geneviève Valérie Mélanie Caroline Stéphanie Annie Karine Émilie Marie-Ève
        Marie-Claude Anne-Marie Hélène Louise Françoise Monique Nicole Ginette Lise Danielle
        Martine Audrey Camille Léa Chloé Noémie Élodie Amélie Marie-Josée""",
    ),
    "chinese": (
        """Wei Jun Jian Hao Ming Lei Tao Yong Jie Bo Feng Gang Hui Kai Qiang Yi Zhi Xiang Chun
        Kwok_Wai Ka_Ho Chi_Keung Wing""",
        """Mei Li Xin Ying Hui Yan Jing Xiu Fang Lan Lin Na Qing Hong Xia Yun Ling Jia Shu Ting
        Mei_Ling Siu_Ling Wai_Man""",
    ),
    "vietnamese": (
        """Minh Tuấn Hùng Dũng Thanh Quang Huy Long Nam Khoa Đức Hải Phúc Bảo Tâm Trung Vinh Hiếu
        Tuan Hung Dung Duc""",
        """Linh Mai Lan Hương Trang Ngọc Thủy Phương Anh Thảo Hà Hạnh Nhung Vy Hoa Loan Yến My
        Huong Ngoc Thuy Phuong""",
    ),
    "korean": (
        """Min-jun Ji-hoon Seo-jun Sung-min Dong-hyun Jae-won Hyun-woo Joon-ho Sang-hoon Young-ho
        Jin Min-ho Tae-yang Kyung-soo""",
        """Ji-woo Seo-yeon Min-ji Soo-jin Eun-ji Ji-young Hye-jin Yeon-woo Su-bin Hae-won Mi-kyung
        Ji-eun Eun-young""",
    ),
    "japanese": (
        """Hiroshi Takashi Kenji Yuki Daisuke Kenta Takeshi Satoshi Kazuo Haruto Ren Sho""",
        """Yuki Akiko Keiko Yumi Haruka Aiko Naomi Sakura Emi Mika Yoko Hana""",
    ),
    "south_asian": (
        """Mohammed Muhammad Raj Rajesh Amit Sanjay Vijay Ravi Suresh Anil Sunil Arjun Rahul Rohan
        Harpreet Gurpreet Manpreet Jaspreet Sukhwinder Harjit Jaswinder Kulwinder Amandeep
        Navdeep Deepak Vikram Ashok Ramesh Krishna Venkatesh Srinivas Imran Asif Faisal Tariq
        Omar Hamza Bilal Aditya Nikhil Karan Arun Prakash Ganesh""",
        """Priya Anjali Neha Pooja Sunita Anita Kavita Deepa Lakshmi Meena Rekha Shanti Simran
        Harpreet Manpreet Gurpreet Jaspreet Navneet Rajwinder Amandeep Ayesha Fatima Zainab
        Nadia Sana Saima Farah Aisha Divya Shreya Ananya Kiran Asha Geeta Nisha Rani""",
    ),
    "german": (
        """Hans Klaus Jürgen Wolfgang Stefan Andreas Thomas Michael Peter Uwe Dieter Helmut Frank
        Matthias Markus Tobias Florian Sebastian Lukas Jonas Felix Maximilian Johannes Günter
        Horst Manfred Rainer Bernd Karl Heinz Dirk Jörg""",
        """Ursula Helga Monika Petra Sabine Renate Ingrid Gisela Andrea Claudia Birgit Karin Heike
        Anja Katrin Susanne Julia Anna Lena Laura Leonie Hannah Jana Sarah Johanna Gerda Brigitte
        Jutta Elke Dörte""",
    ),
    "polish": (
        """Piotr Krzysztof Andrzej Tomasz Paweł Marcin Michał Łukasz Jan Stanisław Józef Marek
        Grzegorz Jakub Adam Wojciech Mateusz Dariusz Mariusz Zbigniew Jerzy Kamil Rafał Robert
        Sławomir Bartosz""",
        """Anna Maria Katarzyna Małgorzata Agnieszka Barbara Ewa Krystyna Magdalena Elżbieta
        Joanna Aleksandra Zofia Monika Teresa Danuta Natalia Karolina Marta Beata Dorota Jolanta
        Justyna Grażyna Halina Bożena""",
    ),
    "italian": (
        """Giuseppe Giovanni Antonio Mario Luigi Francesco Angelo Vincenzo Pietro Salvatore Carlo
        Franco Domenico Bruno Paolo Michele Giorgio Aldo Sergio Luciano Marco Alessandro Luca
        Andrea Matteo Lorenzo Stefano Roberto Fabio Dario Enzo Rocco Nicola Gianni""",
        """Maria Anna Giuseppina Rosa Angela Giovanna Teresa Lucia Carmela Caterina Francesca
        Antonietta Carla Elena Concetta Rita Margherita Franca Paola Giulia Chiara Alessandra
        Federica Silvia Valentina Sofia Martina Gina Lina Rosaria Annunziata Filomena""",
    ),
    "scandinavian": (
        """Lars Anders Erik Nils Sven Per Jens Søren Henrik Mikkel Magnus Bjørn Olaf Gustav Johan
        Karl Axel Rasmus Kristian Torben Åke Jörgen Håkan Leif Rune Mads Niels Ole""",
        """Ingrid Astrid Karin Birgitta Kirsten Anne Mette Hanne Lene Sigrid Freja Ida Maja Elin
        Linnea Sofie Solveig Åsa Signe Britt Liv Gunnhild Annika""",
    ),
    "slavic": (
        """Aleksandr Sergei Dmitri Andrei Alexei Vladimir Ivan Mikhail Nikolai Yuri Oleg Igor
        Pavel Viktor Roman Maxim Artem Bohdan Taras Oleksandr Mykola Vasyl Jiří Tomáš Petr László
        Zoltán István Ion Mihai""",
        """Olga Natalia Elena Tatiana Irina Svetlana Yekaterina Anastasia Marina Ludmila Galina
        Oksana Yulia Daria Viktoria Ksenia Nadia Halyna Olena Kateryna Petra Zuzana Jana Eva
        Katalin Zsófia Ioana Andreea""",
    ),
    "arabic": (
        """Mohammed Ahmed Ali Omar Hassan Hussein Ibrahim Khalid Mahmoud Youssef Karim Tariq Samir
        Nabil Rami Fadi Ziad Bilal Walid Jamal Amir Hamza Mustafa Rashid Sami Elias Georges""",
        """Fatima Aisha Mariam Layla Nour Rania Yasmin Hana Salma Amira Dina Lina Rana Reem Zeina
        Huda Samira Leila Maya Nadia Sara Noor Jana Rima""",
    ),
    "african": (
        """Chinedu Oluwaseun Emeka Kwame Kofi Yaw Kwabena Adebayo Tunde Babajide Obinna Chukwuemeka
        Ifeanyi Abdoulaye Mamadou Moussa Amadou Tendai Sipho Thabo Jabari Tesfaye Dawit Yohannes""",
        """Chioma Ngozi Adaeze Oluwakemi Folake Funmilayo Abena Akosua Ama Efua Yaa Aminata Fatou
        Awa Nomvula Thandiwe Zanele Amara Nkechi Ifeoma Makeda Selam Hiwot Tigist""",
    ),
    "greek": (
        """Georgios Dimitrios Konstantinos Ioannis Nikolaos Panagiotis Christos Vasileios Athanasios
        Spyros Stavros Kostas Nikos Yiannis""",
        """Maria Eleni Aikaterini Vasiliki Sofia Angeliki Georgia Dimitra Konstantina Paraskevi
        Ioanna Despina Eleftheria Athena""",
    ),
    "portuguese": (
        """João José António Manuel Francisco Carlos Luís Paulo Pedro Rui Jorge Fernando Nuno
        Miguel Ricardo Tiago Bruno Vítor Armando Joaquim""",
        """Maria Ana Isabel Manuela Fernanda Rosa Conceição Fátima Teresa Helena Catarina Inês
        Sofia Beatriz Joana Mariana Rita Filipa Graça Lurdes""",
    ),
    "dutch": (
        """Jan Johannes Pieter Hendrik Cornelis Willem Gerrit Dirk Jacobus Bart Bram Daan Sander
        Joost Maarten Wouter Thijs Ruud Henk Kees""",
        """Maria Johanna Anna Cornelia Wilhelmina Elisabeth Petronella Hendrika Femke Sanne Lotte
        Anouk Marieke Ingrid Annemiek Ilse Inge Saskia""",
    ),
}

# (surname Zipf exponent, Zipf offset, share of the group's people with a synthetic rare surname,
#  share using their group's given names rather than the English list)
# fmt: off
_GROUP_SHAPE = {
    # surname Zipf exponent and offset over the real list; share of the group's people with a
    # rare surname from the synthetic tail (prefix x suffix); share with an ultra-rare one
    # (prefix x link x suffix, near-unique at 1M people); share with a double surname
    # ("García López", "Smith-Jones"); share using their group's given names, not English ones
    "anglo":        (1.0, 4.0, 0.61, 0.1, 0.01, 1.0),
    "hispanic":     (0.9, 4.0, 0.14, 0.04, 0.12, 0.75),
    "filipino":     (0.9, 4.0, 0.1, 0.04, 0.0, 0.55),
    "french":       (0.8, 4.0, 0.18, 0.06, 0.02, 0.85),
    "chinese":      (1.0, 2.0, 0.02, 0.0, 0.0, 0.45),
    "vietnamese":   (1.4, 0.5, 0.0, 0.0, 0.0, 0.55),
    "korean":       (1.3, 0.8, 0.0, 0.0, 0.0, 0.5),
    "japanese":     (0.8, 3.0, 0.15, 0.1, 0.0, 0.6),
    "south_asian":  (0.9, 3.0, 0.2, 0.08, 0.005, 0.8),
    "german":       (0.8, 4.0, 0.3, 0.1, 0.005, 0.5),
    "polish":       (0.8, 4.0, 0.3, 0.1, 0.005, 0.6),
    "italian":      (0.8, 4.0, 0.3, 0.1, 0.005, 0.5),
    "scandinavian": (0.8, 3.0, 0.3, 0.1, 0.005, 0.5),
    "slavic":       (0.8, 4.0, 0.25, 0.1, 0.005, 0.6),
    "arabic":       (0.8, 3.0, 0.2, 0.08, 0.005, 0.8),
    "african":      (0.8, 3.0, 0.25, 0.12, 0.005, 0.6),
    "greek":        (0.8, 3.0, 0.3, 0.1, 0.005, 0.6),
    "portuguese":   (0.8, 3.0, 0.15, 0.05, 0.08, 0.6),
    "dutch":        (0.8, 3.0, 0.25, 0.1, 0.005, 0.4),
}
# fmt: on
# Given-name Zipf (exponent, offset): English male names have a heavy head (James 5% of men, top
# ten 32%), English female names a softer one (Mary 3.5%, top ten 21%), other lists (José, María)
# one like the female list. Overall the top ten given names cover ~15% of people.
_GIVEN_SHAPE = {"anglo_male": (1.4, 8.0), "anglo_female": (0.8, 2.0), "other": (0.75, 2.0)}
# Links between prefix and suffix for ultra-rare surnames.
_RARE_LINKS = ("", "er", "ing", "el", "en", "ow", "an", "is")

# Share of each group among customers, per country.
# fmt: off
_GROUP_MIX = {
    "US": {
        "anglo": 0.575, "hispanic": 0.17, "chinese": 0.025, "vietnamese": 0.012, "korean": 0.008,
        "japanese": 0.005, "filipino": 0.014, "south_asian": 0.03, "german": 0.04, "italian": 0.035,
        "polish": 0.015, "scandinavian": 0.01, "slavic": 0.012, "arabic": 0.012, "african": 0.015,
        "greek": 0.006, "portuguese": 0.008, "dutch": 0.006, "french": 0.01,
    },
    "CA": {
        "anglo": 0.45, "french": 0.17, "chinese": 0.06, "south_asian": 0.07, "filipino": 0.025,
        "vietnamese": 0.008, "korean": 0.007, "japanese": 0.003, "italian": 0.03, "german": 0.03,
        "polish": 0.015, "slavic": 0.02, "portuguese": 0.015, "hispanic": 0.02, "arabic": 0.02,
        "african": 0.012, "dutch": 0.012, "greek": 0.008, "scandinavian": 0.008,
    },
    "GB": {
        "anglo": 0.78, "south_asian": 0.07, "polish": 0.03, "african": 0.03, "chinese": 0.015,
        "italian": 0.01, "arabic": 0.015, "greek": 0.005, "hispanic": 0.005, "german": 0.005,
        "french": 0.005, "portuguese": 0.005, "slavic": 0.005, "scandinavian": 0.005, "dutch": 0.005,
        "korean": 0.005, "japanese": 0.005, "vietnamese": 0.005, "filipino": 0.005,
    },
}
# fmt: on

# Syllables for synthetic rare surnames (the long tail): prefix x suffix per group.
_TAIL_PARTS = {
    "anglo": (
        """Ash Black Brad Brook Whit Hart Fair Green Hol Mor Ald Bar Brom Cald Carl Dal Den Ells Far
        Gold Hal Hather Kings Lang Mid Nor Pem Rad Rams Sed Shel Stan Sut Thorn Wal Wes Wim Win
        Wood Ather Bur Chad Crom Dun Eg Hay Lind Mar Ox Pen Rox Rud Sal Tal Wat Whel Wel Bick Birch
        Bram Cran Ding Elm Fen Gras Hamp Ing Kel Lox Mel Nether Ock Pad Quen Rother Shep Tad Up""",
        """worth ford ley ton wood field by well more ham stead combe bury den hurst wick shaw
        bridge dale land sley cliffe borough thorpe ridge""",
    ),
    "irish": (
        """McAllister McArdle McBride McCabe McCann McClure McCoy McCrae McCullough McDermott
        McDonagh McDowell McElroy McEvoy McFadden McFall McGee McGill McGovern McGrath McHale
        McHugh McInerney McIntyre McKee McKenna McMahon McManus McMaster McMillan McNamara
        McNally McNulty McPherson McQuaid McQuillan McSorley McTavish McVeigh McWhirter MacAulay
        MacBain MacCormack MacDougall MacEachern MacFarlane MacIsaac MacKay MacLellan MacNeil
        MacPhee MacRae O'Callaghan O'Connell O'Driscoll O'Dwyer O'Farrell O'Flaherty O'Grady
        O'Halloran O'Kane O'Mahony O'Meara O'Regan O'Riordan O'Shea O'Toole O'Hare O'Mara""",
        "",
    ),
    "german": (
        """Stein Berg Rosen Lind Eisen Gold Silber Grün Schön Wein Kirch Hof Brand Falk Wald Feld
        Stern Blum Hirsch Adler Baum Roth Weiß Lich Mühl Rein Alt Neu Ober Unter Hoch Kalt Kling
        Sommer Stahl Kraus Engel Ham Bren Kess""",
        """mann berger feld hoff er thal bach burg dorf heim stein ner inger meier hauser reiter
        wald hardt kamp rath""",
    ),
    "polish": (
        """Kowal Nowa Wiśniew Kamień Lewand Zieliń Szyma Dąbrow Kozł Janko Kwiatk Krawc Piotr
        Grab Pawł Michal Wieczor Jabłoń Wróbl Majew Olszew Malin Górs Rutk Sikor Tomasz Wysoc
        Sadow Zawadz Chmiel Bork Czarn Sawic Sokoł Urbań Maciej Szczep Kuchar Wilcz Kalin""",
        "ski cki czyk iak ewicz owicz ek ik ała uk",
    ),
    "italian": (
        """Ross Bianc Ferr Espos Ricc Marin Gall Cont Brun Cost Giord Manc Lomb Morett Barbier Font
        Sant Mari Rinald Carus Gentil Vital Serr Coppol Marchett Paris Cattan Pellegr Palumb Farin
        Rizz Mont Grass Bellucc Amat Orland Silvestr Cavall Fior Donat Bernard Test""",
        "i o elli ini etti ucci one ato ese ardi otti azzi",
    ),
    "scandinavian": (
        """Ander Jo Han Lar Niel Peder Kris Jen Ras Sø Ol Sven Gus Erik Nils Ing Berg Lund Dahl
        Holm Strand Sand Lind Sjö Ny Ek Fors Hag Bjørn Å""",
        "sen son gaard strøm berg lund dahl qvist ström holm vik by",
    ),
    "hispanic": (
        """Alvar Benít Cabr Domíng Estr Fuent Galv Ibarr Jimén Lozan Mald Nav Orteg Pach Quint Saav
        Tov Urib Valenz Zamor Arell Barr Camp Delg Escob Figuer Herr Iglesi Lar Mej Nuñ Oroz Pad
        Quir Sep Trej Vel Yañ Zúñ""",
        "ez es ada ero illo ino ón ales ares eda oza uela",
    ),
    "south_asian": (
        """Raj Sub Krish Venk Chandr Ram Bal Gop Har Sri Nar Shiv Dev Mahal Sund Pad Anan Bhas Dwar
        Jaga Kann Madh Nata Para Sesh Thiru Vara""",
        "araman amanian an esh athan ingam ani wala kar iah appa endran",
    ),
    "dutch": (
        """Van_der_ Van_den_ Van_ Vander Vanden""",
        """Berg Dijk Houten Leeuwen Meer Velde Bosch Linden Wal Heuvel Dam Beek Vliet Broek Graaf
        Hoek Pol Zanden Hout Steen Kamp Molen Brink""",
    ),
}
# Which tail each group draws its rare surnames from.
_GROUP_TAIL = {
    "anglo": ("anglo", "irish"),
    "hispanic": ("hispanic",),
    "filipino": ("hispanic",),
    "french": ("french_tail",),
    "chinese": ("anglo",),
    "vietnamese": (),
    "korean": (),
    "japanese": ("anglo",),
    "south_asian": ("south_asian",),
    "german": ("german",),
    "polish": ("polish",),
    "italian": ("italian",),
    "scandinavian": ("scandinavian",),
    "slavic": ("polish", "german"),
    "arabic": ("south_asian",),
    "african": ("anglo",),
    "greek": ("italian",),
    "portuguese": ("hispanic",),
    "dutch": ("dutch",),
}
_FRENCH_TAIL = (
    """Beau Belle Bois Bon Champ Chateau Clair Des Du Fon Grand Haut La Le Mont Petit Pré Rich
    Roche St- Val Ville""",
    """champ lieu mont pré bois court ville fort lac marais rivière pierre lande""",
)

# Nicknames and spelling variants used by the same person (formal -> alternatives).
# fmt: off
_NICKNAMES = {
    "Robert": "Bob Rob Bobby Robbie Bert", "William": "Bill Will Billy Liam", "Margaret": "Peggy Maggie Meg Marge Greta", "Elizabeth": "Liz Beth Betty Lizzie Eliza Libby",
    "Katherine": "Kate Kathy Katie Kat Catherine", "Catherine": "Cathy Kate Katie Cat Katherine", "Kathryn": "Kate Kathy Katie", "Kathleen": "Kathy Kate Kathleen",
    "James": "Jim Jimmy Jamie", "Charles": "Chuck Charlie Chas", "Richard": "Dick Rick Rich Richie Ricky", "Alexander": "Alex Sasha Xander Al",
    "Alexandra": "Alex Sasha Lexi Sandra", "José": "Pepe Jose Joe", "Michael": "Mike Mikey Mick", "Christopher": "Chris Topher Kit",
    "Jennifer": "Jen Jenny Jenn", "Patricia": "Pat Patty Trish Tricia", "Thomas": "Tom Tommy", "Joseph": "Joe Joey",
    "Daniel": "Dan Danny", "Matthew": "Matt", "Anthony": "Tony", "Steven": "Steve Stephen",
    "Stephen": "Steve Steven", "Edward": "Ed Eddie Ted Ned", "Andrew": "Andy Drew", "Joshua": "Josh",
    "Kenneth": "Ken Kenny", "Timothy": "Tim Timmy", "Jonathan": "Jon Jonny", "Nicholas": "Nick Nicky",
    "Benjamin": "Ben Benji", "Samuel": "Sam Sammy", "Gregory": "Greg", "Raymond": "Ray",
    "Lawrence": "Larry", "Gerald": "Jerry Gerry", "Walter": "Walt Wally", "Peter": "Pete",
    "Henry": "Hank Harry", "Francis": "Frank", "Frances": "Fran Frannie", "Deborah": "Deb Debbie Debra",
    "Debra": "Deb Debbie Deborah", "Susan": "Sue Susie Suzy", "Barbara": "Barb Babs", "Dorothy": "Dot Dottie Dorothea",
    "Rebecca": "Becky Becca", "Victoria": "Vicky Tori", "Jessica": "Jess Jessie", "Samantha": "Sam Sammy",
    "Abigail": "Abby", "Kimberly": "Kim", "Christine": "Chris Tina", "Christina": "Chris Tina",
    "Cynthia": "Cindy", "Pamela": "Pam", "Theresa": "Terry Tess Teresa", "Teresa": "Terry Tess Theresa",
    "Judith": "Judy", "Sandra": "Sandy", "Carolyn": "Carol Carrie", "Caroline": "Carrie Carol",
    "Virginia": "Ginny", "Eleanor": "Ellie Nell", "Jacqueline": "Jackie", "Nathaniel": "Nate Nat",
    "Nathan": "Nate", "Zachary": "Zach Zack", "Donald": "Don Donnie", "Ronald": "Ron Ronnie",
    "Douglas": "Doug", "Jeffrey": "Jeff", "Harold": "Hal Harry", "Eugene": "Gene",
    "Leonard": "Len Lenny Leo", "Albert": "Al Bert", "Alfred": "Al Alf Fred", "Frederick": "Fred Freddie",
    "Phillip": "Phil", "Philip": "Phil", "Vincent": "Vince Vinny", "Jacob": "Jake",
    "Gabriel": "Gabe", "Isabella": "Bella Izzy", "Josephine": "Jo Josie", "Madison": "Maddie",
    "Allison": "Ally Allie", "Valerie": "Val", "Melanie": "Mel", "Melissa": "Mel Missy",
    "Stephanie": "Steph", "Natalie": "Nat", "Danielle": "Dani", "Kristen": "Kristin Kris",
    "Angela": "Angie", "Mary": "Molly Polly Mae", "Ann": "Anne Annie Nan", "Anna": "Anne Annie",
    "Mohammed": "Mohamed Muhammad Mohammad Mo", "Muhammad": "Mohammed Mohamed Mo", "Francisco": "Paco Pancho Frank", "Guadalupe": "Lupe",
    "Jesús": "Chuy Jesus", "Ignacio": "Nacho", "Enrique": "Quique Henry", "Roberto": "Beto Robert",
    "Alberto": "Beto", "Eduardo": "Lalo Eddie", "Alejandro": "Alex", "Manuel": "Manny Manolo",
    "María": "Maria Mari", "Guillermo": "Memo Willy", "Juan_Carlos": "Juan JC", "Jean-François": "JF Jean",
    "Jean-Philippe": "JP", "Marie-Ève": "Marie-Eve Eve", "Stéphane": "Stephane", "Geneviève": "Genevieve Gen",
    "Małgorzata": "Gosia Margaret", "Katarzyna": "Kasia Kate", "Wojciech": "Wojtek", "Aleksandra": "Ola Alex",
    "Łukasz": "Lukasz Luke", "Krzysztof": "Chris", "Piotr": "Peter", "Aleksandr": "Sasha Alex",
    "Mikhail": "Misha Michael", "Dmitri": "Dima Dmitry", "Yekaterina": "Katya Kate", "Natalia": "Natasha",
    "Johannes": "Hans Johann", "Wolfgang": "Wolf", "Jürgen": "Jurgen Juergen", "Giuseppe": "Joe Beppe",
    "Giovanni": "John Gianni", "Salvatore": "Sal", "Vincenzo": "Vince Enzo", "Venkatesh": "Venky",
    "Srinivas": "Srini", "Jaswinder": "Jas", "Harpreet": "Harry", "Gurpreet": "Gary",
    "Sukhwinder": "Sukh", "Chukwuemeka": "Emeka", "Oluwaseun": "Seun", "Konstantinos": "Kostas Gus",
    "Georgios": "George", "Ioannis": "John Yianni", "António": "Tony", "Søren": "Soren",
}
# fmt: on

# Twins with similar names (the second name is the twin's).
# fmt: off
TWIN_NAMES = [
    ("Mary", "Maria", "F"), ("Daniel", "Danielle", "F"), ("Eric", "Erica", "F"), ("Paul", "Paula", "F"),
    ("John", "Joan", "F"), ("Michael", "Michelle", "F"), ("Robert", "Roberta", "F"), ("Christopher", "Christina", "F"),
    ("Brian", "Brianna", "F"), ("Julian", "Julia", "F"), ("Joseph", "Josephine", "F"), ("Samuel", "Samantha", "F"),
    ("Jessica", "Jennifer", "F"), ("Emily", "Emma", "F"), ("Anna", "Hannah", "F"), ("Jacob", "Joshua", "M"),
    ("Ethan", "Evan", "M"), ("Matthew", "Mark", "M"), ("Jason", "Justin", "M"), ("Kevin", "Kyle", "M"),
    ("Lisa", "Laura", "F"), ("Megan", "Morgan", "F"), ("José", "Jesús", "M"), ("María", "Mariana", "F"),
    ("Nathan", "Nathaniel", "M"), ("Alexander", "Alexandra", "F"), ("Ashley", "Amber", "F"), ("Mateo", "Martín", "M"),
    ("James", "Jane", "F"), ("David", "Diana", "F"), ("Patricia", "Patrick", "M"), ("William", "Willie", "M"),
    ("Linda", "Lynn", "F"), ("Susan", "Sarah", "F"), ("Richard", "Rachel", "F"), ("Christian", "Christine", "F"),
    ("Olivia", "Sophia", "F"), ("Tyler", "Taylor", "F"),
]
# fmt: on

_MIDDLE_INITIALS = "AAAMMMJJJLLLEEERRRDDCCKKSSTTBBGHNPWFIOV"

_EMAIL_HANDLE_A = """sunny happy blue crazy lucky silver golden wild little big sweet cool quiet red green
dark bright misty snowy stormy cosmic urban coastal northern pink purple jazzy funky lazy salty
"""
_EMAIL_HANDLE_B = """days dog cat fox bear wolf moon star sky rider girl guy mama papa chef runner hiker
skater gamer reader tiger panda bird dancer pilot surfer beach rose lily coffee tea cookie pickle
hockey soccer yogi ninja wizard queen king
"""
# fmt: off
_EMAIL_DOMAINS = {
    "US": {
        "gmail.com": 40, "yahoo.com": 14, "hotmail.com": 8, "outlook.com": 6, "icloud.com": 9,
        "aol.com": 4, "comcast.net": 3, "msn.com": 2, "live.com": 2, "att.net": 2,
        "verizon.net": 1.5, "me.com": 1.5, "protonmail.com": 0.5, "ymail.com": 0.5, "sbcglobal.net": 1,
    },
    "CA": {
        "gmail.com": 40, "hotmail.com": 14, "yahoo.ca": 6, "yahoo.com": 4, "outlook.com": 6,
        "icloud.com": 7, "rogers.com": 4, "shaw.ca": 4, "sympatico.ca": 2, "telus.net": 3,
        "videotron.ca": 2, "live.ca": 2, "hotmail.ca": 2, "bell.net": 2, "me.com": 1,
    },
    "GB": {
        "gmail.com": 30, "hotmail.co.uk": 14, "yahoo.co.uk": 8, "btinternet.com": 8, "outlook.com": 6,
        "icloud.com": 8, "sky.com": 4, "live.co.uk": 4, "googlemail.com": 4, "aol.co.uk": 1,
        "virginmedia.com": 3, "ntlworld.com": 1.5, "talktalk.net": 1,
    },
}
# fmt: on
_WORK_DOMAINS = """northwindtraders.com bluepeakcapital.com harborviewhealth.org cedarlaw.ca
meridianlogistics.com summitengineering.com pinecrestschools.org lakesidemedical.com
granitebuilders.ca oceanicfoods.com brightpathconsulting.com ironwoodenergy.ca silverlineins.com
maplecreditunion.ca evergreenpartners.com riversidecity.gov stonebridgebank.com keystonegroup.com
atlasfreight.com novatechsystems.com westshoredental.ca crescentmedia.com pioneerpharma.com
clearwaterutilities.com redwoodrealty.com tridentsecurity.com horizonairlines.com
fairmontpublishing.co.uk thamesvalleyhomes.co.uk kingsgateretail.co.uk""".split()
_DOMAIN_TYPO_A = (
    ["@gmail.com", "@yahoo.com", "@hotmail.com", "@outlook.com", "@icloud.com", "@shaw.ca"],
    ["@gmial.com", "@yaho.com", "@hotmial.com", "@outlok.com", "@icloud.co", "@shaw.com"],
)
_DOMAIN_TYPO_B = (
    ["@gmail.com", "@yahoo.com", "@hotmail.com", "@rogers.com", "@comcast.net"],
    ["@gmail.con", "@yahoo.cm", "@hotmail.co", "@roger.com", "@comcast.com"],
)

# Cities: name, region code, region name, weight, postal prefixes, phone area codes, aliases, store.
# US postal prefixes are ZIP3; Canadian ones the first two characters of the FSA; UK ones
# "AREA:max_district".
# fmt: off
_CITIES = {
    "US": [
        ("New York", "NY", "New York", 8.3, "100 101 102 103 104 112 113 114", "212 646 718 917 347", "New York City|NYC", 1),
        ("Los Angeles", "CA", "California", 3.9, "900 902 913 914", "213 310 323 818 424", "LA", 1),
        ("Chicago", "IL", "Illinois", 2.7, "606 607", "312 773 872", "", 1),
        ("Houston", "TX", "Texas", 2.3, "770 772", "713 281 832", "", 1),
        ("Phoenix", "AZ", "Arizona", 1.6, "850 852", "602 480 623", "", 0),
        ("Philadelphia", "PA", "Pennsylvania", 1.6, "191", "215 267", "Philly", 1),
        ("San Antonio", "TX", "Texas", 1.5, "782", "210", "", 0),
        ("San Diego", "CA", "California", 1.4, "921", "619 858", "", 1),
        ("Dallas", "TX", "Texas", 1.3, "752", "214 469 972", "", 1),
        ("Austin", "TX", "Texas", 1.0, "787", "512 737", "", 0),
        ("San Jose", "CA", "California", 1.0, "951", "408 669", "", 0),
        ("Jacksonville", "FL", "Florida", 0.95, "322", "904", "", 0),
        ("Columbus", "OH", "Ohio", 0.9, "432", "614", "", 0),
        ("Charlotte", "NC", "North Carolina", 0.9, "282", "704 980", "", 0),
        ("Indianapolis", "IN", "Indiana", 0.88, "462", "317", "", 0),
        ("San Francisco", "CA", "California", 0.87, "941", "415 628", "SF", 1),
        ("Seattle", "WA", "Washington", 0.75, "981", "206", "", 1),
        ("Denver", "CO", "Colorado", 0.72, "802", "303 720", "", 1),
        ("Washington", "DC", "District of Columbia", 0.69, "200", "202", "Washington DC", 0),
        ("Boston", "MA", "Massachusetts", 0.68, "021 022", "617 857", "", 1),
        ("Nashville", "TN", "Tennessee", 0.68, "372", "615", "", 0),
        ("Detroit", "MI", "Michigan", 0.63, "482", "313", "", 0),
        ("Portland", "OR", "Oregon", 0.65, "972", "503 971", "", 1),
        ("Las Vegas", "NV", "Nevada", 0.65, "891", "702 725", "", 0),
        ("Atlanta", "GA", "Georgia", 0.5, "303", "404 470 678", "", 1),
        ("Miami", "FL", "Florida", 0.45, "331", "305 786", "", 1),
        ("Minneapolis", "MN", "Minnesota", 0.43, "554", "612", "", 0),
        ("Tampa", "FL", "Florida", 0.4, "336", "813", "", 0),
        ("New Orleans", "LA", "Louisiana", 0.38, "701", "504", "", 0),
        ("Cleveland", "OH", "Ohio", 0.37, "441", "216", "", 0),
        ("St. Louis", "MO", "Missouri", 0.3, "631", "314", "Saint Louis|St Louis", 0),
        ("Pittsburgh", "PA", "Pennsylvania", 0.3, "152", "412", "", 0),
        ("Cincinnati", "OH", "Ohio", 0.31, "452", "513", "", 0),
        ("Salt Lake City", "UT", "Utah", 0.2, "841", "801 385", "SLC", 0),
        ("Providence", "RI", "Rhode Island", 0.19, "029", "401", "", 0),
        ("Hartford", "CT", "Connecticut", 0.12, "061", "860", "", 0),
        ("Newark", "NJ", "New Jersey", 0.31, "071", "973 862", "", 0),
        ("Buffalo", "NY", "New York", 0.28, "142", "716", "", 0),
        ("Honolulu", "HI", "Hawaii", 0.35, "968", "808", "", 0),
        ("Anchorage", "AK", "Alaska", 0.29, "995", "907", "", 0),
        ("Spokane", "WA", "Washington", 0.23, "992", "509", "", 0),
        ("Bellingham", "WA", "Washington", 0.09, "982", "360", "", 0),
        ("Burlington", "VT", "Vermont", 0.045, "054", "802", "", 0),
        ("Portland", "ME", "Maine", 0.07, "041", "207", "", 0),
        ("Springfield", "IL", "Illinois", 0.11, "627", "217", "", 0),
        ("Springfield", "MA", "Massachusetts", 0.15, "011", "413", "", 0),
        ("Springfield", "MO", "Missouri", 0.17, "658", "417", "", 0),
        ("Kansas City", "MO", "Missouri", 0.5, "641", "816", "KC", 0),
        ("Kansas City", "KS", "Kansas", 0.15, "661", "913", "", 0),
        ("Albuquerque", "NM", "New Mexico", 0.56, "871", "505", "", 0),
        ("Boise", "ID", "Idaho", 0.23, "837", "208", "", 0),
        ("Omaha", "NE", "Nebraska", 0.48, "681", "402", "", 0),
        ("Raleigh", "NC", "North Carolina", 0.47, "276", "919 984", "", 0),
        ("Sacramento", "CA", "California", 0.52, "958", "916", "", 0),
        ("Fresno", "CA", "California", 0.54, "937", "559", "", 0),
        ("Tucson", "AZ", "Arizona", 0.54, "857", "520", "", 0),
        ("Milwaukee", "WI", "Wisconsin", 0.57, "532", "414", "", 0),
        ("Baltimore", "MD", "Maryland", 0.58, "212", "410 443", "", 0),
        ("Louisville", "KY", "Kentucky", 0.62, "402", "502", "", 0),
        ("Oklahoma City", "OK", "Oklahoma", 0.68, "731", "405", "OKC", 0),
        ("El Paso", "TX", "Texas", 0.68, "799", "915", "", 0),
        ("Memphis", "TN", "Tennessee", 0.63, "381", "901", "", 0),
        ("Orlando", "FL", "Florida", 0.31, "328", "407", "", 0),
        ("Richmond", "VA", "Virginia", 0.23, "232", "804", "", 0),
        ("Vancouver", "WA", "Washington", 0.19, "986", "360", "", 0),
    ],
    "CA": [
        ("Toronto", "ON", "Ontario", 2.8, "M4 M5 M6 M1 M2 M3 M9", "416 647 437", "", 1),
        ("Montréal", "QC", "Québec", 1.8, "H1 H2 H3 H4", "514 438", "Montreal|MTL", 1),
        ("Vancouver", "BC", "British Columbia", 0.68, "V5 V6", "604 778 236", "Van", 1),
        ("Calgary", "AB", "Alberta", 1.3, "T2 T3", "403 587 825", "", 1),
        ("Edmonton", "AB", "Alberta", 1.0, "T5 T6", "780 587", "", 1),
        ("Ottawa", "ON", "Ontario", 1.0, "K1 K2", "613 343", "", 1),
        ("Winnipeg", "MB", "Manitoba", 0.75, "R2 R3", "204 431", "", 0),
        ("Mississauga", "ON", "Ontario", 0.72, "L4 L5", "905 289 365", "", 1),
        ("Brampton", "ON", "Ontario", 0.65, "L6 L7", "905 289", "", 0),
        ("Hamilton", "ON", "Ontario", 0.57, "L8 L9", "905 289", "", 0),
        ("Québec", "QC", "Québec", 0.55, "G1 G2", "418 581", "Quebec City|Quebec|Ville de Québec", 0),
        ("Surrey", "BC", "British Columbia", 0.57, "V3 V4", "604 778", "", 1),
        ("Laval", "QC", "Québec", 0.44, "H7", "450 579", "", 0),
        ("Halifax", "NS", "Nova Scotia", 0.44, "B3", "902 782", "", 1),
        ("London", "ON", "Ontario", 0.42, "N5 N6", "519 226", "", 0),
        ("Markham", "ON", "Ontario", 0.34, "L3 L6", "905 289", "", 0),
        ("Vaughan", "ON", "Ontario", 0.32, "L4 L6", "905", "", 0),
        ("Gatineau", "QC", "Québec", 0.29, "J8 J9", "819 873", "", 0),
        ("Saskatoon", "SK", "Saskatchewan", 0.27, "S7", "306 639", "", 0),
        ("Longueuil", "QC", "Québec", 0.25, "J4", "450 579", "", 0),
        ("Burnaby", "BC", "British Columbia", 0.25, "V5 V3", "604 778", "", 1),
        ("Regina", "SK", "Saskatchewan", 0.23, "S4", "306 639", "", 0),
        ("Richmond", "BC", "British Columbia", 0.21, "V6 V7", "604 778", "", 0),
        ("Richmond Hill", "ON", "Ontario", 0.2, "L4", "905", "", 0),
        ("Oakville", "ON", "Ontario", 0.21, "L6", "905 289", "", 0),
        ("Kitchener", "ON", "Ontario", 0.26, "N2", "519 226", "", 0),
        ("Windsor", "ON", "Ontario", 0.23, "N8 N9", "519 226", "", 0),
        ("Victoria", "BC", "British Columbia", 0.09, "V8 V9", "250 778", "", 1),
        ("Kelowna", "BC", "British Columbia", 0.14, "V1", "250 778 236", "", 0),
        ("St. John's", "NL", "Newfoundland and Labrador", 0.11, "A1", "709", "St Johns|Saint John's", 0),
        ("Saint John", "NB", "New Brunswick", 0.07, "E2", "506", "St. John", 0),
        ("Moncton", "NB", "New Brunswick", 0.08, "E1", "506", "", 0),
        ("Charlottetown", "PE", "Prince Edward Island", 0.04, "C1", "902 782", "", 0),
        ("Whitehorse", "YT", "Yukon", 0.03, "Y1", "867", "", 0),
        ("North Vancouver", "BC", "British Columbia", 0.09, "V7", "604 778", "N. Vancouver|North Van", 0),
        ("Sherbrooke", "QC", "Québec", 0.17, "J1", "819 873", "", 0),
        ("Trois-Rivières", "QC", "Québec", 0.14, "G8 G9", "819 873", "Trois-Rivieres|Trois Rivieres", 0),
    ],
    "GB": [
        ("London", "", "Greater London", 8.9, "E:18 N:22 NW:11 SE:28 SW:20 W:14", "20", "", 1),
        ("Manchester", "", "Greater Manchester", 0.55, "M:40", "161", "", 1),
        ("Birmingham", "", "West Midlands", 1.1, "B:48", "121", "", 0),
        ("Leeds", "", "West Yorkshire", 0.8, "LS:28", "113", "", 0),
        ("Glasgow", "", "Glasgow City", 0.63, "G:53", "141", "", 0),
        ("Liverpool", "", "Merseyside", 0.5, "L:38", "151", "", 0),
        ("Bristol", "", "Bristol", 0.47, "BS:16", "117", "", 0),
        ("Edinburgh", "", "City of Edinburgh", 0.52, "EH:17", "131", "", 0),
        ("Sheffield", "", "South Yorkshire", 0.58, "S:36", "114", "", 0),
        ("Cardiff", "", "South Glamorgan", 0.36, "CF:24", "29", "Caerdydd", 0),
        ("Belfast", "", "County Antrim", 0.34, "BT:17", "28", "", 0),
        ("Newcastle upon Tyne", "", "Tyne and Wear", 0.3, "NE:15", "191", "Newcastle", 0),
        ("Nottingham", "", "Nottinghamshire", 0.32, "NG:11", "115", "", 0),
        ("Brighton", "", "East Sussex", 0.23, "BN:3", "1273", "Brighton and Hove", 0),
        ("Oxford", "", "Oxfordshire", 0.15, "OX:4", "1865", "", 0),
        ("Cambridge", "", "Cambridgeshire", 0.13, "CB:5", "1223", "", 0),
    ],
}
# fmt: on
_COUNTRY_NAMES = {
    "US": ["United States", "USA", "US", "U.S.", "United States of America"],
    "CA": ["Canada", "CA", "CAN", "Canada", "Canada"],
    "GB": ["United Kingdom", "UK", "GB", "England", "United Kingdom"],
}

_STREETS_NA = """Main Oak Maple Cedar Pine Elm Washington Lake Hill Park Church King Queen Victoria
Granville Broadway Hastings Yonge Bloor Dundas Spadina Jasper Portage Robson Davie Commercial
Fraser Lonsdale Marine 1st 2nd 3rd 4th 5th 6th 7th 8th 9th 10th 12th 15th 16th 22nd 41st 49th
Sunset Ridge Valley Forest River Spring Meadow Willow Birch Chestnut Walnut Cherry Hickory
Sycamore Lincoln Jefferson Madison Franklin Jackson Adams Monroe Wilson Center Mill School North
South Union Water Bridge Market Front Prospect Highland Orchard Lakeview Ocean Bay Harbour
Mountain Sunnyside Fairview Riverside Greenwood Kingsway Albert Edward George Wellington York
Dufferin Bathurst Carling Bank Rideau Elgin St._Clair Mount_Pleasant Mission Valencia El_Camino
Peachtree Magnolia Dogwood Juniper Aspen Sequoia Acacia Station Oxford Cambridge Springfield
Beech Holly Rose Ivy Laurel Heather Primrose Kingfisher Robin Cardinal Bluebird Heron Eagle
Falcon Hawthorn Alder Poplar Linden Cypress Redwood Palm Olive Canyon Mesa Sierra Vista Pacific
Atlantic Central Colonial Heritage Liberty Independence Pioneer Frontier Commerce Airport
Country_Club Golf College University Academy Chapel Castle Manor Meadowbrook Brookside Stonegate
Windsor Kensington Chelsea Hampton Devon Cornwall Kent Essex Sussex Dogwood Briarwood Foxhill
Deer_Run Quail_Hollow Timberline Summit Crestview Glenwood Hillcrest Parkview Westwood Eastwood"""
_STREETS_QC = """Sainte-Catherine Saint-Denis Saint-Laurent Sherbrooke de_la_Montagne Papineau
Notre-Dame Saint-Hubert des_Érables de_l'Église Principale du_Parc Laurier Beaubien Jean-Talon
Masson Fleury Henri-Bourassa Côte-des-Neiges des_Pins Saint-Joseph de_Maisonneuve René-Lévesque
des_Pionniers du_Lac Champlain Cartier Wilfrid-Laurier Saint-Jean"""
_STREETS_UK = """High Church Station Victoria Park London Mill Green Manor Kings Queens New School
North South Albert Grange Windsor York Richmond Springfield Alexandra Chester Clarence Stanley
Beech Elm Oak Ash Willow Cedar Holly Meadow Orchard Hawthorn Chapel Castle Bridge Market Mount
Pleasant Cromwell Gladstone Wellington Nelson Osborne Belgrave Cavendish Grosvenor Tennyson
Milton Shakespeare Churchill Princes Marlborough Devonshire Bedford Warwick Rectory Vicarage"""

# (full, abbreviation, weight US, weight CA, weight UK, weight QC-French, French name goes first)
# fmt: off
_STREET_TYPES = [
    ("Street", "St", 25, 20, 20, 0),
    ("Avenue", "Ave", 18, 18, 8, 0),
    ("Road", "Rd", 10, 10, 30, 0),
    ("Drive", "Dr", 12, 12, 5, 0),
    ("Boulevard", "Blvd", 4, 4, 0, 0),
    ("Lane", "Ln", 6, 4, 10, 0),
    ("Court", "Ct", 5, 4, 0, 0),
    ("Place", "Pl", 4, 4, 2, 0),
    ("Way", "Way", 4, 4, 4, 0),
    ("Crescent", "Cres", 2, 6, 4, 0),
    ("Circle", "Cir", 2, 0.5, 0, 0),
    ("Terrace", "Terr", 2, 1, 2, 0),
    ("Parkway", "Pkwy", 1, 0.5, 0, 0),
    ("Trail", "Trl", 1, 1, 0, 0),
    ("Close", "Cl", 0, 0, 8, 0),
    ("Gardens", "Gdns", 0, 0, 5, 0),
    ("Grove", "Gr", 0, 0, 3, 0),
    ("rue", "rue", 0, 0, 0, 60),
    ("boulevard", "boul.", 0, 0, 0, 15),
    ("avenue", "av.", 0, 0, 0, 15),
    ("chemin", "ch.", 0, 0, 0, 6),
    ("montée", "montée", 0, 0, 0, 2),
    ("place", "pl.", 0, 0, 0, 2),
]
# fmt: on
_DIRECTIONS = (("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"))

_CA_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
_UK_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# fmt: off
_KEYBOARD = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "ol", "a": "qsz", "s": "adw", "d": "sfe", "f": "dgr", "g": "fht", "h": "gjy",
    "j": "hku", "k": "jli", "l": "ko", "z": "xa", "x": "zc", "c": "xv", "v": "cb", "b": "vn",
    "n": "bm", "m": "n",
}
# fmt: on

# =====================================================================================
# Tables built once from the lists above
# =====================================================================================

_ROLE_NAMES = ("head", "spouse", "child", "junior", "twin", "roommate")
HEAD, SPOUSE, CHILD, JUNIOR, TWIN, ROOMMATE = range(6)
_COUNTRIES = ("US", "CA", "GB")
_REF_DAYS = (REF_DATE - date(1970, 1, 1)).days
_YEAR = 365.2425


def _split(text: str) -> list[str]:
    return [w.replace("_", " ") for w in text.split()]


def _pick(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    out = np.searchsorted(cum / cum[-1], rng.random(n), side="right")
    return np.minimum(out, len(cum) - 1)


def _zipf(n: int, a: float, k: float) -> np.ndarray:
    w = 1.0 / (np.arange(1, n + 1) + k) ** a
    return w / w.sum()


@dataclass(frozen=True)
class _Dist:
    idx: np.ndarray  # indices into a global name table
    cum: np.ndarray  # cumulative probabilities

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        at = np.searchsorted(self.cum, rng.random(n), side="right")
        return self.idx[np.minimum(at, len(self.idx) - 1)]


@dataclass(frozen=True)
class _Tables:
    groups: tuple[str, ...]
    given: pl.Series
    given_key: np.ndarray
    given_is_anglo: np.ndarray
    male: dict[str, _Dist]
    female: dict[str, _Dist]
    surname: pl.Series
    surname_dist: dict[str, _Dist]
    rare_parts: dict[str, tuple[pl.Series, pl.Series, pl.Series]]  # prefix, suffix, Suffix
    fem_surname: np.ndarray
    nick_off: np.ndarray
    nick_cnt: np.ndarray
    nick: pl.Series
    similar: np.ndarray
    similar_female: np.ndarray
    group_mix: dict[str, np.ndarray]
    fold_from: list[str]
    fold_to: list[str]
    fold_de_from: list[str]
    fold_de_to: list[str]
    moji_from: list[str]
    moji_to: list[str]
    # cities
    city_name: pl.Series
    city_region: pl.Series
    city_region_name: pl.Series
    city_country: np.ndarray
    city_weight: np.ndarray
    city_store: np.ndarray
    city_qc: np.ndarray
    city_alias_off: np.ndarray
    city_alias_cnt: np.ndarray
    city_alias: pl.Series
    postal_off: np.ndarray
    postal_cnt: np.ndarray
    postal_prefix: pl.Series
    postal_maxd: np.ndarray
    area_off: np.ndarray
    area_cnt: np.ndarray
    area_code: np.ndarray
    area_len: np.ndarray
    # streets
    street: pl.Series
    street_off: np.ndarray  # per kind: 0 NA, 1 QC, 2 UK
    street_cnt: np.ndarray
    stype_full: pl.Series
    stype_abbr: pl.Series
    stype_w: np.ndarray  # (types, kinds: US, CA, UK, QC)


def _fold_char(c: str) -> str:
    special = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d", "Đ": "D", "æ": "ae"}
    special |= {"Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i"}
    if c in special:
        return special[c]
    out = "".join(ch for ch in unicodedata.normalize("NFKD", c) if not unicodedata.combining(ch))
    return out if out and out.isascii() else c


def _tail_names(prefixes: str, suffixes: str) -> list[str]:
    pre, suf = _split(prefixes), suffixes.split()
    if not suf:
        return pre
    out = []
    for p in pre:
        for s in suf:
            if p.endswith((" ", "-")):
                out.append(p + s[:1].upper() + s[1:])
            else:
                out.append(p + s[:1].lower() + s[1:])
    return out


@functools.cache
def _tables() -> _Tables:
    groups = tuple(_SURNAMES)
    given: list[str] = []
    gindex: dict[str, int] = {}

    def gid(name: str) -> int:
        if name not in gindex:
            gindex[name] = len(given)
            given.append(name)
        return gindex[name]

    male: dict[str, _Dist] = {}
    female: dict[str, _Dist] = {}
    male_names: set[str] = set()
    for g in groups:
        for text, out, is_male in ((_GIVEN[g][0], male, True), (_GIVEN[g][1], female, False)):
            names = list(dict.fromkeys(_split(text)))
            if is_male:
                male_names.update(names)
            shape = "other" if g != "anglo" else ("anglo_male" if is_male else "anglo_female")
            a, k = _GIVEN_SHAPE[shape]
            idx = np.array([gid(x) for x in names], dtype=np.int32)
            out[g] = _Dist(idx, np.cumsum(_zipf(len(idx), a, k)))
    anglo_given = set(_split(_GIVEN["anglo"][0])) | set(_split(_GIVEN["anglo"][1]))
    sim_pairs = [(gid(a), gid(b), sex == "F", a in male_names) for a, b, sex in TWIN_NAMES]
    similar = np.full(len(given), -1, dtype=np.int32)
    similar_female = np.zeros(len(given), dtype=bool)
    for ia, ib, b_female, a_male in sim_pairs:
        if similar[ia] < 0:
            similar[ia], similar_female[ia] = ib, b_female
        if similar[ib] < 0:
            similar[ib], similar_female[ib] = ia, not a_male
    nick_lists: list[list[str]] = [[] for _ in given]
    for formal, alts in _NICKNAMES.items():
        name = formal.replace("_", " ")
        if name in gindex:
            nick_lists[gindex[name]] = alts.split()
    nick_cnt = np.array([len(x) for x in nick_lists], dtype=np.int64)
    nick_off = np.concatenate([[0], np.cumsum(nick_cnt)[:-1]])
    nick_flat = [x for lst in nick_lists for x in lst]

    # surnames
    surname: list[str] = []
    sindex: dict[str, int] = {}

    def sid(name: str) -> int:
        if name not in sindex:
            sindex[name] = len(surname)
            surname.append(name)
        return sindex[name]

    tails = {k: _tail_names(*v) for k, v in _TAIL_PARTS.items()}
    tails["french_tail"] = _tail_names(*_FRENCH_TAIL)
    surname_dist: dict[str, _Dist] = {}
    for gi, g in enumerate(groups):
        a, k, tail_share, *_ = _GROUP_SHAPE[g]
        real = list(dict.fromkeys(_split(_SURNAMES[g])))
        real_set = set(real)
        tail = [x for t in _GROUP_TAIL[g] for x in tails[t] if x not in real_set]
        tail = list(dict.fromkeys(tail))
        np.random.default_rng(1000 + gi).shuffle(tail)
        w = _zipf(len(real), a, k) * (1.0 - (tail_share if tail else 0.0))
        idx = [sid(x) for x in real]
        if tail:
            w = np.concatenate([w, _zipf(len(tail), 0.35, 30.0) * tail_share])
            idx += [sid(x) for x in tail]
        cum = np.cumsum(w)
        surname_dist[g] = _Dist(np.array(idx, dtype=np.int32), cum / cum[-1])
    rare_parts = {}
    for g in groups:
        for t in _GROUP_TAIL[g]:
            pre, suf = _FRENCH_TAIL if t == "french_tail" else _TAIL_PARTS[t]
            if suf.split():
                sufs = suf.split()
                rare_parts[g] = (
                    pl.Series(_split(pre), dtype=pl.String),
                    pl.Series([x[:1].lower() + x[1:] for x in sufs], dtype=pl.String),
                    pl.Series([x[:1].upper() + x[1:] for x in sufs], dtype=pl.String),
                )
                break
    fem_pairs = []
    for name in list(surname):
        for male_end, fem_end in (("ski", "ska"), ("cki", "cka"), ("ov", "ova"), ("ev", "eva")):
            if name.endswith(male_end) and " " not in name:
                fem_pairs.append((sindex[name], sid(name[: -len(male_end)] + fem_end)))
                break
    fem_surname = np.arange(len(surname), dtype=np.int32)
    for a_, b_ in fem_pairs:
        fem_surname[a_] = b_

    group_mix = {}
    for c in _COUNTRIES:
        group_mix[c] = np.array([_GROUP_MIX[c].get(g, 0.0) for g in groups])

    # cities
    rows = [(c, *row) for c in _COUNTRIES for row in _CITIES[c]]
    city_alias_lists = [r[7].split("|") if r[7] else [] for r in rows]
    postal_lists = [r[5].split() for r in rows]
    area_lists = [r[6].split() for r in rows]

    def offsets(lists):
        cnt = np.array([len(x) for x in lists], dtype=np.int64)
        return np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt

    alias_off, alias_cnt = offsets(city_alias_lists)
    postal_off, postal_cnt = offsets(postal_lists)
    area_off, area_cnt = offsets(area_lists)
    postal_flat = [p.split(":")[0] for lst in postal_lists for p in lst]
    postal_maxd = np.array(
        [int(p.split(":")[1]) if ":" in p else 0 for lst in postal_lists for p in lst]
    )
    area_flat = [a for lst in area_lists for a in lst]

    streets = [_split(_STREETS_NA), _split(_STREETS_QC), _split(_STREETS_UK)]
    street_cnt = np.array([len(s) for s in streets], dtype=np.int64)
    street_off = np.concatenate([[0], np.cumsum(street_cnt)[:-1]])
    street_flat = [s for lst in streets for s in lst]

    every = given + surname + nick_flat + street_flat + [r[1] for r in rows] + [r[3] for r in rows]
    every += [a for lst in city_alias_lists for a in lst] + [t[0] for t in _STREET_TYPES]
    specials = sorted({ch for s in every for ch in s if not ch.isascii()})
    fold_to = [_fold_char(c) for c in specials]
    de = {"ü": "ue", "ö": "oe", "ä": "ae", "Ü": "Ue", "Ö": "Oe", "Ä": "Ae"}
    moji = [c.encode("utf-8").decode("cp1252", errors="replace") for c in specials]

    def key(s: str) -> str:
        folded = "".join(_fold_char(ch) for ch in s).lower()
        return "".join(ch for ch in folded if ch.isalnum())

    key_ids: dict[str, int] = {}
    given_key = np.array([key_ids.setdefault(key(x), len(key_ids)) for x in given], np.int32)
    return _Tables(
        groups=groups,
        given=pl.Series("given", given, dtype=pl.String),
        given_key=given_key,
        given_is_anglo=np.array([x in anglo_given for x in given]),
        male=male,
        female=female,
        surname=pl.Series("surname", surname, dtype=pl.String),
        surname_dist=surname_dist,
        rare_parts=rare_parts,
        fem_surname=fem_surname,
        nick_off=nick_off,
        nick_cnt=nick_cnt,
        nick=pl.Series("nick", nick_flat, dtype=pl.String),
        similar=similar,
        similar_female=similar_female,
        group_mix=group_mix,
        fold_from=specials,
        fold_to=fold_to,
        fold_de_from=list(de) + specials,
        fold_de_to=list(de.values()) + fold_to,
        moji_from=specials,
        moji_to=moji,
        city_name=pl.Series([r[1] for r in rows], dtype=pl.String),
        city_region=pl.Series([r[2] for r in rows], dtype=pl.String),
        city_region_name=pl.Series([r[3] for r in rows], dtype=pl.String),
        city_country=np.array([_COUNTRIES.index(r[0]) for r in rows], dtype=np.int8),
        city_weight=np.array([r[4] for r in rows]),
        city_store=np.array([bool(r[8]) for r in rows]),
        city_qc=np.array([r[2] == "QC" for r in rows]),
        city_alias_off=alias_off,
        city_alias_cnt=alias_cnt,
        city_alias=pl.Series([a for lst in city_alias_lists for a in lst], dtype=pl.String),
        postal_off=postal_off,
        postal_cnt=postal_cnt,
        postal_prefix=pl.Series(postal_flat, dtype=pl.String),
        postal_maxd=postal_maxd,
        area_off=area_off,
        area_cnt=area_cnt,
        area_code=np.array([int(a) for a in area_flat], dtype=np.int64),
        area_len=np.array([len(a) for a in area_flat], dtype=np.int64),
        street=pl.Series(street_flat, dtype=pl.String),
        street_off=street_off,
        street_cnt=street_cnt,
        stype_full=pl.Series([t[0] for t in _STREET_TYPES], dtype=pl.String),
        stype_abbr=pl.Series([t[1] for t in _STREET_TYPES], dtype=pl.String),
        stype_w=np.array([t[2:6] for t in _STREET_TYPES], dtype=np.float64),
    )


def _flat_pick(rng: np.random.Generator, off: np.ndarray, cnt: np.ndarray, at: np.ndarray):
    """One entry per row from per-city lists stored flat (off/cnt indexed by ``at``)."""
    return off[at] + np.minimum((rng.random(len(at)) * cnt[at]).astype(np.int64), cnt[at] - 1)


# =====================================================================================
# People
# =====================================================================================


def _age_weights() -> tuple[np.ndarray, np.ndarray]:
    ages = np.arange(AGE_MIN, AGE_MAX + 1)
    w = np.ones(len(ages))
    w = np.where(ages < 25, 0.55 + 0.45 * (ages - 18) / 7, w)
    w = np.where((ages >= 30) & (ages <= 55), 1.12, w)
    w = np.where(ages > 65, 1.0 - 0.88 * (ages - 65) / 25, w)
    return ages, w


def sample_birthdays(rng: np.random.Generator, n: int, lo: int = AGE_MIN, hi: int = AGE_MAX):
    """Birth dates as days since 1970 for adults aged ``lo``-``hi`` on REF_DATE."""
    ages, w = _age_weights()
    sel = (ages >= lo) & (ages <= hi)
    age = ages[sel][_pick(rng, n, w[sel])]
    return _REF_DAYS - (np.ceil(age * _YEAR) + rng.random(n) * (_YEAR - 1)).astype(np.int64)


def _draw_given(rng, T: _Tables, group: np.ndarray, female: np.ndarray) -> np.ndarray:
    out = np.zeros(len(group), dtype=np.int32)
    for gi, g in enumerate(T.groups):
        for fem, dists in ((False, T.male), (True, T.female)):
            sel = np.flatnonzero((group == gi) & (female == fem))
            if not sel.size:
                continue
            native = rng.random(sel.size) < _GROUP_SHAPE[g][5]
            own = dists[g].draw(rng, sel.size)
            out[sel] = np.where(native, own, dists["anglo"].draw(rng, sel.size))
    return out


class _SurnameBook:
    """The surname table of one run: the fixed lists plus names made while drawing
    (ultra-rare surnames, double surnames). ``short`` is the first part of a double surname."""

    def __init__(self, T: _Tables):
        self.base = len(T.surname)
        self.size = self.base
        self.names: list[pl.Series] = [T.surname]
        self.shorts: list[np.ndarray] = [np.full(self.base, -1, dtype=np.int64)]

    def add(self, names: pl.Series, short: np.ndarray) -> np.ndarray:
        idx = self.size + np.arange(len(names), dtype=np.int64)
        self.size += len(names)
        self.names.append(names)
        self.shorts.append(short.astype(np.int64))
        return idx

    def table(self) -> pl.Series:
        return pl.concat(self.names)

    def short(self) -> np.ndarray:
        return np.concatenate(self.shorts)


def _draw_surname(rng, T: _Tables, group: np.ndarray, book: _SurnameBook) -> np.ndarray:
    out = np.zeros(len(group), dtype=np.int64)
    for gi, g in enumerate(T.groups):
        sel = np.flatnonzero(group == gi)
        if not sel.size:
            continue
        dist = T.surname_dist[g]
        out[sel] = dist.draw(rng, sel.size)
        _, _, _, ultra, double, _ = _GROUP_SHAPE[g]
        u = rng.random(sel.size)
        rare = np.flatnonzero(u < ultra) if g in T.rare_parts else np.zeros(0, dtype=np.int64)
        if rare.size:
            pre, suf, suf_cap = T.rare_parts[g]
            frame = pl.DataFrame(
                {
                    "p": pre.gather(rng.integers(0, len(pre), rare.size)),
                    "i": rng.integers(0, len(suf), rare.size),
                    "l": pl.Series(list(_RARE_LINKS)).gather(
                        rng.integers(0, len(_RARE_LINKS), rare.size)
                    ),
                }
            )
            frame = frame.with_columns(s=suf.gather(frame["i"]), S=suf_cap.gather(frame["i"]))
            names = frame.select(
                pl.when(pl.col("p").str.ends_with(" ") | pl.col("p").str.ends_with("-"))
                .then(pl.col("p") + pl.col("S"))
                .otherwise(pl.col("p") + pl.col("l") + pl.col("s"))
            ).to_series()
            out[sel[rare]] = book.add(names, np.full(rare.size, -1))
        dbl = np.flatnonzero((u >= ultra) & (u < ultra + double))
        if dbl.size:
            first, second = out[sel[dbl]], dist.draw(rng, dbl.size)
            spanish = g in ("hispanic", "portuguese")
            sep = np.where(spanish & (rng.random(dbl.size) < 0.6), " ", "-")
            names = T.surname.gather(first) + pl.Series(sep) + T.surname.gather(second)
            out[sel[dbl]] = book.add(names, first if spanish else np.full(dbl.size, -1))
    return out


def _draw_city(rng, T: _Tables, country: np.ndarray) -> np.ndarray:
    out = np.zeros(len(country), dtype=np.int32)
    for ci in range(len(_COUNTRIES)):
        sel = np.flatnonzero(country == ci)
        cities = np.flatnonzero(T.city_country == ci)
        if sel.size:
            out[sel] = cities[_pick(rng, sel.size, T.city_weight[cities])]
    return out


def _draw_group(rng, T: _Tables, country: np.ndarray) -> np.ndarray:
    out = np.zeros(len(country), dtype=np.int16)
    for ci, c in enumerate(_COUNTRIES):
        sel = np.flatnonzero(country == ci)
        if sel.size:
            out[sel] = _pick(rng, sel.size, T.group_mix[c])
    return out


def _fold_lower_alnum(s: pl.Expr, T: _Tables) -> pl.Expr:
    return (
        s.str.replace_many(T.fold_from, T.fold_to)
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9]", "")
    )


def _addresses(rng, T: _Tables, city: np.ndarray) -> pl.DataFrame:
    """Structured addresses (one per row of ``city``), unique across the returned rows."""
    n = len(city)
    country = T.city_country[city]
    uk = country == 2
    qc = T.city_qc[city] & (rng.random(n) < QC_FRENCH_ADDRESS)
    kind = np.where(uk, 2, np.where(qc, 1, 0))
    street = T.street_off[kind] + np.minimum(
        (rng.random(n) * T.street_cnt[kind]).astype(np.int64), T.street_cnt[kind] - 1
    )
    tcol = np.where(uk, 2, np.where(qc, 3, country))  # weight column: US, CA, UK, QC
    stype = np.zeros(n, dtype=np.int64)
    for k in range(4):
        sel = np.flatnonzero(tcol == k)
        if sel.size:
            stype[sel] = _pick(rng, sel.size, T.stype_w[:, k])
    direction = np.where(
        (country == 0) & (rng.random(n) < 0.10),
        rng.integers(0, 4, n),
        np.where((country == 1) & ~qc & (rng.random(n) < 0.06), 4 + rng.integers(0, 4, n), -1),
    )  # 0-3 prefix (US "N Main St"), 4-7 suffix (CA "41st Ave W")
    has_unit = rng.random(n) < np.where(uk, HAS_FLAT_UK, HAS_UNIT_NA)
    unit_kind = np.where(uk, 4, _pick(rng, n, [0.6, 0.18, 0.04, 0.18]))  # apt unit suite # flat
    unit_kind = np.where(has_unit, unit_kind, -1)
    unit_style = rng.integers(0, 3, n)
    floor_room = rng.integers(1, 30, n) * 100 + rng.integers(1, 20, n)
    unit_letter = np.array(list("ABCDEF"))[rng.integers(0, 6, n)]
    small = rng.integers(1, 40, n)
    frame = pl.DataFrame(
        {
            "city": city,
            "country": country,
            "kind": kind,
            "street_i": street,
            "stype": stype,
            "dir": direction,
            "unit_kind": unit_kind,
            "unit_style": np.where(unit_kind == 2, 0, unit_style),
            "floor_room": np.where(unit_kind == 2, (floor_room // 100) * 100, floor_room),
            "unit_letter": unit_letter,
            "small": small,
            "postal_i": _flat_pick(rng, T.postal_off, T.postal_cnt, city),
            "zip2": rng.integers(0, 100, n),
            "plus4": rng.integers(1, 10000, n),
            "ca3": np.array(list(_CA_LETTERS))[rng.integers(0, len(_CA_LETTERS), n)],
            "ca4": rng.integers(0, 10, n),
            "ca5": np.array(list(_CA_LETTERS))[rng.integers(0, len(_CA_LETTERS), n)],
            "ca6": rng.integers(0, 10, n),
            "uk_in": rng.integers(0, 10, n),
            "uk_l1": np.array(list(_UK_INWARD_LETTERS))[rng.integers(0, 20, n)],
            "uk_l2": np.array(list(_UK_INWARD_LETTERS))[rng.integers(0, 20, n)],
            "uk_u": rng.random(n),
        }
    )
    frame = frame.with_columns(
        street=T.street.gather(frame["street_i"].to_numpy()),
        unit=pl.when(pl.col("unit_kind") < 0)
        .then(None)
        .when(pl.col("unit_kind") == 4)
        .then(pl.col("small").cast(pl.String))
        .when(pl.col("unit_style") == 0)
        .then(pl.col("floor_room").cast(pl.String))
        .when(pl.col("unit_style") == 1)
        .then((pl.col("small") % 20 + 1).cast(pl.String) + pl.col("unit_letter"))
        .otherwise(pl.col("small").cast(pl.String)),
    )
    prefix = T.postal_prefix.gather(frame["postal_i"].to_numpy())
    maxd = T.postal_maxd[frame["postal_i"].to_numpy()]
    frame = frame.with_columns(
        prefix=prefix,
        uk_d=pl.Series((1 + frame["uk_u"].to_numpy() * np.maximum(maxd, 1)).astype(np.int64)),
    ).with_columns(
        postal=pl.when(pl.col("country") == 0)
        .then(pl.col("prefix") + pl.col("zip2").cast(pl.String).str.zfill(2))
        .when(pl.col("country") == 1)
        .then(
            pl.concat_str(
                [pl.col("prefix"), pl.col("ca3"), pl.lit(" "), pl.col("ca4").cast(pl.String)]
                + [pl.col("ca5"), pl.col("ca6").cast(pl.String)]
            )
        )
        .otherwise(
            pl.concat_str(
                [pl.col("prefix"), pl.col("uk_d").cast(pl.String), pl.lit(" ")]
                + [pl.col("uk_in").cast(pl.String), pl.col("uk_l1"), pl.col("uk_l2")]
            )
        ),
        plus4=pl.col("plus4").cast(pl.String).str.zfill(4),
    )
    # house numbers: US/CA skewed to a few digits, UK small; unique per (city, street, unit)
    num = np.where(
        uk,
        np.clip(np.exp(rng.normal(2.8, 0.9, n)), 1, 400),
        np.clip(np.exp(rng.normal(6.2, 1.3, n)), 1, 29999),
    ).astype(np.int64)
    frame = frame.with_columns(num=pl.Series(num))
    place = ((city.astype(np.int64) * 1000 + street) * 32 + stype) * 16 + direction + 1
    unit_hash = frame["unit"].hash(seed=7)
    for _ in range(50):
        key = pl.DataFrame({"k": place * 40_000 + frame["num"].to_numpy(), "u": unit_hash})
        again = ~key.select(pl.struct("k", "u").is_first_distinct()).to_series().to_numpy()
        if not again.any():
            break
        redraw = np.where(uk, rng.integers(1, 400, n), rng.integers(1, 30000, n))
        frame = frame.with_columns(num=pl.Series(np.where(again, redraw, frame["num"].to_numpy())))
    return frame.select(
        "city",
        "country",
        "kind",
        "num",
        "street",
        "stype",
        "dir",
        "unit_kind",
        "unit",
        "postal",
        "plus4",
    )


def _phones(rng, T: _Tables, city: np.ndarray, mobile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """National significant numbers (10 digits) and kinds: 0 NANP, 1-3 UK landline by area-code
    length (2, 3, 4 digits), 4 UK mobile."""
    n = len(city)
    at = _flat_pick(rng, T.area_off, T.area_cnt, city)
    area, alen = T.area_code[at], T.area_len[at]
    uk = T.city_country[city] == 2
    exch = rng.integers(200, 1000, n)
    exch = np.where(exch % 100 == 11, exch + 1, exch)
    nanp = area * 10_000_000 + exch * 10_000 + rng.integers(0, 10_000, n)
    sub_len = 10 - alen
    sub = (2 + rng.random(n) * 8) * 10.0 ** (sub_len - 1)
    uk_land = area * 10**sub_len + sub.astype(np.int64)
    uk_mob = 7_000_000_000 + rng.integers(400_000_000, 1_000_000_000, n)
    nsn = np.where(uk, np.where(mobile, uk_mob, uk_land), nanp)
    kind = np.where(uk, np.where(mobile, 4, alen - 1), 0).astype(np.int8)
    return nsn.astype(np.int64), kind


def _unique_phones(rng, T, city, mobile) -> tuple[np.ndarray, np.ndarray]:
    nsn, kind = _phones(rng, T, city, mobile)
    for _ in range(50):
        key = pl.Series(nsn + (kind > 0).astype(np.int64) * 10**10)
        again = ~key.is_first_distinct().to_numpy()
        if not again.any():
            break
        sel = np.flatnonzero(again)
        nsn[sel], kind[sel] = _phones(rng, T, city[sel], mobile[sel])
    return nsn, kind


_EMAIL_PATTERNS = (  # (weight, description)
    (22, "first.last"),
    (9, "firstlast"),
    (8, "flast"),
    (4, "first_last99"),
    (12, "firstlast1234"),
    (6, "first1985"),
    (6, "first.last12"),
    (6, "nick-based"),
    (12, "unrelated handle"),
    (3, "last.first"),
    (3, "first.m.last"),
    (3, "lastf"),
    (3, "firstl22"),
    (3, "first1234"),
)


def _email_local(pattern: pl.Expr) -> pl.Expr:
    g, s, k, m = pl.col("gf"), pl.col("sf"), pl.col("kf"), pl.col("mf")
    d2, d4 = pl.col("d2").cast(pl.String), pl.col("d4").cast(pl.String)
    yy = pl.col("byear").cast(pl.String)
    handle = (
        pl.col("ha") + pl.col("hb") + pl.when(pl.col("d2") % 3 == 0).then(pl.lit("")).otherwise(d2)
    )
    options = [
        g + "." + s,
        g + s,
        g.str.slice(0, 1) + s,
        g + "_" + s + d2,
        g + s + d4,
        g + pl.when(pl.col("d2") % 2 == 0).then(yy).otherwise(yy.str.slice(2, 2)),
        g + "." + s + d2,
        pl.when(pl.col("d2") % 2 == 0).then(k + s).otherwise(k + d2),
        handle,
        s + "." + g,
        g + "." + m + "." + s,
        s + g.str.slice(0, 1),
        g + s.str.slice(0, 1) + d2,
        g + d4,
    ]
    expr = pl.when(pattern == 0).then(options[0])
    for i, opt in enumerate(options[1:], start=1):
        expr = expr.when(pattern == i).then(opt)
    return expr.otherwise(options[0])


def _domains(rng, country: np.ndarray) -> pl.Series:
    out = np.empty(len(country), dtype=object)
    for ci, c in enumerate(_COUNTRIES):
        sel = np.flatnonzero(country == ci)
        names = list(_EMAIL_DOMAINS[c])
        out[sel] = np.array(names, dtype=object)[
            _pick(rng, sel.size, list(_EMAIL_DOMAINS[c].values()))
        ]
    return pl.Series(out, dtype=pl.String)


@dataclass
class _People:
    n: int
    hh: np.ndarray
    hh_start: np.ndarray
    hh_size: np.ndarray
    pos: np.ndarray
    role: np.ndarray
    anchor: np.ndarray  # twin's sibling, else -1
    female: np.ndarray
    gender: np.ndarray  # 0 F, 1 M, 2 X
    group: np.ndarray
    birth: np.ndarray  # days since 1970
    given: np.ndarray
    surname: pl.Series
    maiden: pl.Series
    short_surname: pl.Series  # hyphenated wives: the husband's part alone
    suffix: pl.Series
    middle: pl.Series
    nick: pl.Series
    goes_by: np.ndarray
    namesake_of: np.ndarray
    country: np.ndarray
    city: np.ndarray
    addr: pl.DataFrame  # rows: households, then movers' old addresses
    addr_cur: np.ndarray
    addr_old: np.ndarray
    mover: np.ndarray
    home: np.ndarray  # nsn or 0
    home_kind: np.ndarray
    mobile: np.ndarray
    mobile_kind: np.ndarray
    old_phone: np.ndarray
    old_kind: np.ndarray
    work_phone: np.ndarray
    work_kind: np.ndarray
    email: pl.Series
    email2: pl.Series
    two_emails: np.ndarray
    shares_email: np.ndarray
    store: np.ndarray
    stores: pl.DataFrame
    person_id: pl.Series
    num: np.ndarray  # the number inside person_id (ids sort like these)


def _people(n: int, rng: np.random.Generator, scenario: dict, T: _Tables) -> _People:
    # ---- households
    size_p = np.asarray(HOUSEHOLD_SIZE_P)
    mean = float((np.arange(1, 5) * size_p).sum())
    sizes = 1 + _pick(rng, int(n / mean * 1.1) + 16, size_p)
    while sizes.sum() < n:
        sizes = np.concatenate([sizes, 1 + _pick(rng, 64, size_p)])
    cs = np.cumsum(sizes)
    n_hh = int(np.searchsorted(cs, n) + 1)
    sizes = sizes[:n_hh].copy()
    sizes[-1] -= cs[n_hh - 1] - n
    hh = np.repeat(np.arange(n_hh), sizes)
    hh_start = np.cumsum(sizes) - sizes
    pos = np.arange(n) - hh_start[hh]
    size_of = sizes[hh]

    # ---- roles
    role = np.zeros(n, dtype=np.int8)
    m1 = np.flatnonzero(pos == 1)
    two = size_of[m1] == 2
    pair_roles = np.array([SPOUSE, CHILD, JUNIOR, TWIN, ROOMMATE], dtype=np.int8)
    role[m1] = np.where(
        two,
        pair_roles[_pick(rng, m1.size, list(PAIR_ROLE_P.values()))],
        np.where(rng.random(m1.size) < BIG_HOUSEHOLD_SPOUSE, SPOUSE, CHILD),
    )
    for j in (2, 3):
        mj = np.flatnonzero(pos == j)
        prev_child = role[mj - 1] == CHILD
        role[mj] = np.where(prev_child & (rng.random(mj.size) < TWIN_AMONG_CHILDREN), TWIN, CHILD)
    anchor = np.where(role == TWIN, np.arange(n) - 1, -1)
    kid = (role == CHILD) | (role == JUNIOR) | ((role == TWIN) & (pos >= 2))
    hh_kids = np.bincount(hh, weights=kid, minlength=n_hh) > 0
    hh_junior = np.bincount(hh, weights=role == JUNIOR, minlength=n_hh) > 0

    # ---- where households live and where their names come from
    countries = scenario["countries"]
    hh_country = _pick(rng, n_hh, [countries.get(c, 0.0) for c in _COUNTRIES]).astype(np.int8)
    hh_city = _draw_city(rng, T, hh_country)
    hh_group = _draw_group(rng, T, hh_country)
    group = hh_group[hh].copy()
    rm = np.flatnonzero(role == ROOMMATE)
    group[rm] = _draw_group(rng, T, hh_country[hh[rm]])

    # ---- heads
    female = np.zeros(n, dtype=bool)
    birth = np.zeros(n, dtype=np.int64)
    given = np.zeros(n, dtype=np.int32)
    book = _SurnameBook(T)
    sur = np.zeros(n, dtype=np.int64)
    maiden = np.full(n, -1, dtype=np.int64)
    hyphen = np.zeros(n, dtype=bool)
    heads = np.flatnonzero(pos == 0)
    female[heads] = (rng.random(heads.size) < GENDER_FEMALE) & ~hh_junior
    lo = np.where(hh_junior, 50, np.where(hh_kids, 44, AGE_MIN))
    for low in np.unique(lo):
        sel = heads[lo == low]
        birth[sel] = sample_birthdays(rng, sel.size, lo=int(low))
    given[heads] = _draw_given(rng, T, group[heads], female[heads])
    sur[heads] = _draw_surname(rng, T, group[heads], book)

    # ---- other members, one household position at a time
    adult = _REF_DAYS - int(np.ceil(18 * _YEAR))  # birth dates stay within ages 18-90
    oldest = _REF_DAYS - int((AGE_MAX + 1) * _YEAR) + 1
    for j in (1, 2, 3):
        m = np.flatnonzero(pos == j)
        if not m.size:
            continue
        r, h, a = role[m], hh_start[hh[m]], m - 1
        u = rng.random(m.size)
        female[m] = np.select(
            [r == SPOUSE, r == JUNIOR],
            [np.where(u < 0.94, ~female[h], female[h]), False],
            rng.random(m.size) < 0.5,
        )
        gap = np.select(
            [r == SPOUSE, r == JUNIOR],
            [rng.normal(0, 4, m.size) * _YEAR, (25 + rng.random(m.size) * 5) * _YEAR],
            (22 + rng.random(m.size) * 16) * _YEAR,
        ).astype(np.int64)
        b = np.where(r == ROOMMATE, sample_birthdays(rng, m.size, 20, 45), birth[h] + gap)
        b = np.where(b > adult, adult - (rng.random(m.size) * 3 * _YEAR).astype(np.int64), b)
        b = np.where(b < oldest, oldest + (rng.random(m.size) * 3 * _YEAR).astype(np.int64), b)
        birth[m] = np.where(r == TWIN, birth[a], b)
        # surnames
        own = _draw_surname(rng, T, group[m], book)
        u = rng.random(m.size)
        spouse_same = u < SPOUSE_SAME_SURNAME
        spouse_hyph = (u >= SPOUSE_SAME_SURNAME) & (u < SPOUSE_SAME_SURNAME + SPOUSE_HYPHENATED)
        sur[m] = np.select(
            [r == SPOUSE, r == CHILD, r == ROOMMATE, r == TWIN],
            [
                np.where(spouse_same | spouse_hyph, sur[h], own),
                np.where(rng.random(m.size) < CHILD_OTHER_SURNAME, own, sur[h]),
                own,
                sur[a],
            ],
            sur[h],
        )
        wife = (r == SPOUSE) & female[m]
        hyph = wife & spouse_hyph
        hyphen[m] = hyph
        change = wife & spouse_same & (rng.random(m.size) < MARRIED_NAME_CHANGE)
        maiden[m] = np.where(hyph | change, _draw_surname(rng, T, group[m], book), -1)
        # given names: never the same as an earlier member's, except a Jr
        g = _draw_given(rng, T, group[m], female[m])
        sim = T.similar[given[a]]
        twin_sim = (r == TWIN) & (sim >= 0) & (rng.random(m.size) < TWIN_SIMILAR_NAME)
        g = np.where(twin_sim, sim, g)
        female[m] = np.where(twin_sim, T.similar_female[np.maximum(given[a], 0)], female[m])
        given[m] = np.where(r == JUNIOR, given[h], g)
        for _ in range(100):
            clash = np.zeros(m.size, dtype=bool)
            for k in range(1, j + 1):
                clash |= T.given_key[given[m]] == T.given_key[given[m - k]]
            clash &= r != JUNIOR
            if not clash.any():
                break
            sel = m[clash]
            given[sel] = _draw_given(rng, T, group[sel], female[sel])

    # single women whose spouse is not a customer: maiden name still in one source
    solo_w = np.flatnonzero((size_of == 1) & female)
    pick = solo_w[rng.random(solo_w.size) < SINGLE_WOMAN_MAIDEN]
    maiden[pick] = _draw_surname(rng, T, group[pick], book)
    gender = np.where(female, 0, 1).astype(np.int8)
    gender[(rng.random(n) < GENDER_X) & (role != JUNIOR) & ~((pos == 0) & hh_junior[hh])] = 2

    # ---- injected namesakes: single-person households copying another person's name
    singles = np.flatnonzero(size_of == 1)
    k = min(int(round(NAMESAKE_INJECT * n)), singles.size // 2)
    namesake_of = np.full(n, -1, dtype=np.int64)
    if k:
        inj = np.sort(rng.choice(singles, size=k, replace=False))
        is_inj = np.zeros(n, dtype=bool)
        is_inj[inj] = True
        pool = np.flatnonzero(~is_inj & ~hyphen)  # "Maiden-Husband" names are copied whole below
        tgt = pool[rng.integers(0, pool.size, k)]
        namesake_of[inj] = tgt
        given[inj], sur[inj], female[inj] = given[tgt], sur[tgt], female[tgt]
        gender[inj], group[inj], maiden[inj] = gender[tgt], group[tgt], -1
        hyphen[inj] = False
        hi, th = hh[inj], hh[tgt]
        other = rng.random(k) < NAMESAKE_OTHER_COUNTRY
        allowed = np.array([countries.get(c, 0) > 0 for c in _COUNTRIES])
        alt_country = (hh_country[th] + rng.integers(1, 3, k)) % 3
        hh_country[hi] = np.where(other & allowed[alt_country], alt_country, hh_country[th])
        for _ in range(100):
            hh_city[hi] = np.where(
                hh_city[hi] == hh_city[th], _draw_city(rng, T, hh_country[hi]), hh_city[hi]
            )
            if not (hh_city[hi] == hh_city[th]).any():
                break
        birth[inj] = np.where(birth[inj] == birth[tgt], birth[inj] - 37, birth[inj])

    # ---- surname strings
    fem_group = np.isin(group, [T.groups.index("polish"), T.groups.index("slavic")])
    fem_map = female & fem_group & (sur < book.base)
    sur_i = np.where(fem_map, T.fem_surname[np.minimum(sur, book.base - 1)], sur)
    fem_m = female & fem_group & (maiden >= 0) & (maiden < book.base)
    maiden_i = np.where(fem_m, T.fem_surname[np.clip(maiden, 0, book.base - 1)], maiden)
    table, short_i = book.table(), book.short()
    frame = pl.DataFrame(
        {
            "base": table.gather(sur_i),
            "maiden": table.gather(np.maximum(maiden_i, 0)),
            "first": table.gather(np.maximum(short_i[sur_i], 0)),
            "has_m": maiden_i >= 0,
            "has_first": short_i[sur_i] >= 0,
            "hy": hyphen,
        }
    )
    frame = frame.with_columns(
        surname=pl.when("hy").then(pl.col("maiden") + "-" + pl.col("base")).otherwise("base"),
        maiden=pl.when("has_m").then("maiden"),
        short=pl.when("hy").then("base").when("has_first").then("first"),
    )
    suffix_code = np.zeros(n, dtype=np.int64)
    jr = np.flatnonzero(role == JUNIOR)
    suffix_code[jr] = 1
    suffix_code[hh_start[hh[jr]]] = 2
    suffix = pl.select(
        pl.lit(pl.Series([None, "Jr", "Sr"], dtype=pl.String)).gather(pl.Series(suffix_code))
    ).to_series()
    initials = pl.Series(list(_MIDDLE_INITIALS), dtype=pl.String)
    middle = initials.gather(rng.integers(0, len(_MIDDLE_INITIALS), n))
    middle = pl.select(pl.when(pl.Series(rng.random(n) < MIDDLE_NAME)).then(middle)).to_series()

    # ---- nicknames (and English names used by East Asian customers)
    cnt = T.nick_cnt[given]
    nick_i = T.nick_off[given] + np.minimum(
        (rng.random(n) * cnt).astype(np.int64), np.maximum(cnt - 1, 0)
    )
    nick = T.nick.gather(np.where(cnt > 0, nick_i, 0))
    has_nick = cnt > 0
    goes_by = has_nick & (rng.random(n) < GOES_BY_NICKNAME)
    east = np.isin(
        group, [T.groups.index(g) for g in ("chinese", "vietnamese", "korean", "japanese")]
    )
    eng = east & ~T.given_is_anglo[given] & (rng.random(n) < EAST_ASIAN_ENGLISH_NAME)
    eng_name = _draw_given(rng, T, np.zeros(n, dtype=np.int16), female)  # group 0 = anglo
    nick = pl.select(
        pl.when(pl.Series(eng)).then(T.given.gather(eng_name)).when(pl.Series(has_nick)).then(nick)
    ).to_series()
    goes_by = goes_by | (eng & (rng.random(n) < 0.8))

    # ---- addresses: one per household, plus an old one for movers
    multi = sizes >= 2
    shared_hh = multi & (rng.random(n_hh) < SHARED_EMAIL_HOUSEHOLDS)
    mover_hh = ~shared_hh & (rng.random(n_hh) < MOVER_HOUSEHOLDS)
    movers_h = np.flatnonzero(mover_hh)
    old_city = np.where(
        rng.random(movers_h.size) < 0.55,
        hh_city[movers_h],
        _draw_city(rng, T, hh_country[movers_h]),
    )
    addr = _addresses(rng, T, np.concatenate([hh_city, old_city]))
    # a mover's old postal code always differs from the current one
    same = np.zeros(addr.height, dtype=bool)
    same[n_hh:] = (addr["postal"][n_hh:] == addr["postal"].gather(movers_h)).to_numpy()
    nxt = {c: str((int(c) + 1) % 10) for c in "0123456789"}
    nxt |= {
        c: _UK_INWARD_LETTERS[(_UK_INWARD_LETTERS.index(c) + 1) % 20] for c in _UK_INWARD_LETTERS
    }
    last = pl.col("postal").str.slice(-1)
    bumped = pl.col("postal").str.slice(
        0, pl.col("postal").str.len_chars() - 1
    ) + last.replace_strict(nxt, default="A")
    addr = addr.with_columns(postal=pl.when(pl.Series(same)).then(bumped).otherwise("postal"))
    hh_old = np.full(n_hh, -1, dtype=np.int64)
    hh_old[movers_h] = n_hh + np.arange(movers_h.size)
    mover = mover_hh[hh]
    country = hh_country[hh]
    city = hh_city[hh]

    # ---- phones: household landline, personal mobile, old number, work number, store lines
    age = (_REF_DAYS - birth) / _YEAR
    hh_land = multi | (rng.random(n_hh) < SINGLE_LANDLINE)
    has_mobile = (rng.random(n) < np.where(age > 75, HAS_MOBILE_OVER_75, HAS_MOBILE)) | mover
    shares = shared_hh[hh] & ((pos <= 1) | (rng.random(n) < 0.3)) & (role != TWIN)
    has_email = (rng.random(n) < np.where(age > 75, HAS_EMAIL_OVER_75, HAS_EMAIL)) | mover | shares
    two_emails = has_email & ~shares & ~mover & (rng.random(n) < TWO_EMAILS)
    work_flag = two_emails & (rng.random(n) < TWO_EMAILS_OTHER_PHONE)
    store_cities = np.flatnonzero(
        T.city_store
        & np.isin(
            T.city_country,
            np.flatnonzero([scenario["countries"].get(c, 0) > 0 for c in _COUNTRIES]),
        )
    )
    old_mobile = rng.random(n) < 0.5
    old_city_hh = np.full(n_hh, -1, dtype=np.int64)
    old_city_hh[movers_h] = old_city
    person_old_city = np.where(mover, old_city_hh[hh], city)
    pool_city = np.concatenate([hh_city, city, person_old_city, city, store_cities])
    pool_mobile = np.concatenate(
        [np.zeros(n_hh, bool), np.ones(n, bool), old_mobile, np.zeros(n + store_cities.size, bool)]
    )
    nsn, kind = _unique_phones(rng, T, pool_city, pool_mobile)
    parts = np.cumsum([n_hh, n, n, n])
    hh_nsn, mob_nsn, old_nsn, work_nsn, store_nsn = np.split(nsn, parts)
    hh_kind, mob_kind, old_kind, work_kind, store_kind = np.split(kind, parts)
    home = np.where(hh_land[hh], hh_nsn[hh], 0)
    home_kind = hh_kind[hh]
    mobile = np.where(has_mobile, mob_nsn, 0)
    old_phone = np.where(mover, old_nsn, 0)
    work_phone = np.where(work_flag, work_nsn, 0)

    # ---- emails: personal, second (work or another personal), family handles; unique
    given_s = T.given.gather(given)
    people = pl.DataFrame(
        {
            "given": given_s,
            "surname": frame["surname"],
            "nick": nick,
            "middle": middle,
            "byear": (1970 + birth / _YEAR).astype(np.int64),
            "d2": rng.integers(1, 100, n),
            "d4": rng.integers(1, 10000, n),
            "ha": pl.Series(_split(_EMAIL_HANDLE_A)).gather(
                rng.integers(0, len(_split(_EMAIL_HANDLE_A)), n)
            ),
            "hb": pl.Series(_split(_EMAIL_HANDLE_B)).gather(
                rng.integers(0, len(_split(_EMAIL_HANDLE_B)), n)
            ),
        }
    )
    people = people.with_columns(
        gf=_fold_lower_alnum(pl.col("given"), T),
        sf=_fold_lower_alnum(pl.col("surname"), T),
        kf=_fold_lower_alnum(pl.coalesce("nick", "given"), T),
        mf=pl.col("middle").fill_null("j").str.to_lowercase(),
    )
    weights = [w for w, _ in _EMAIL_PATTERNS]
    p1 = _pick(rng, n, weights)
    p2 = (p1 + 1 + rng.integers(0, len(weights) - 1, n)) % len(weights)
    people = people.with_columns(p1=pl.Series(p1), p2=pl.Series(p2))
    local1 = people.select(_email_local(pl.col("p1"))).to_series()
    people = people.with_columns(
        d2=pl.Series(rng.integers(1, 100, n)), d4=pl.Series(rng.integers(1, 10000, n))
    )
    local2 = people.select(_email_local(pl.col("p2"))).to_series()
    work_local = people.select(
        pl.when(pl.col("d2") < 60)
        .then(pl.col("gf") + "." + pl.col("sf"))
        .when(pl.col("d2") < 85)
        .then(pl.col("gf").str.slice(0, 1) + pl.col("sf"))
        .otherwise(pl.col("gf") + pl.col("sf").str.slice(0, 1))
    ).to_series()
    work = two_emails & (rng.random(n) < TWO_EMAILS_WORK)
    work_dom = pl.Series(_WORK_DOMAINS).gather(rng.integers(0, len(_WORK_DOMAINS), n))
    dom1 = _domains(rng, country)
    dom2 = _domains(rng, country)
    email1 = local1 + "@" + dom1
    email2 = pl.select(
        pl.when(pl.Series(work)).then(work_local + "@" + work_dom).otherwise(local2 + "@" + dom2)
    ).to_series()
    # family handles for shared households, built from the head (and second member)
    sh = np.flatnonzero(shared_hh)
    hs, second = hh_start[sh], hh_start[sh] + 1
    fam = (
        pl.DataFrame(
            {
                "sf": people["sf"].gather(hs),
                "g1": people["gf"].gather(hs),
                "g2": people["gf"].gather(second),
                "c": rng.integers(0, 5, sh.size),
                "d2": rng.integers(1, 100, sh.size),
            }
        )
        .select(
            pl.when(pl.col("c") == 0)
            .then("the" + pl.col("sf") + "s")
            .when(pl.col("c") == 1)
            .then(pl.col("sf") + "family")
            .when(pl.col("c") == 2)
            .then(pl.col("sf") + ".family")
            .when(pl.col("c") == 3)
            .then(pl.col("g1") + "and" + pl.col("g2"))
            .otherwise(pl.col("sf") + "s" + pl.col("d2").cast(pl.String))
        )
        .to_series()
        + "@"
        + _domains(rng, hh_country[sh])
    )
    pool = pl.concat([email1, email2, fam]).alias("e")
    for _ in range(50):
        again = np.flatnonzero(~pool.is_first_distinct().to_numpy())
        if not again.size:
            break
        fix = pl.DataFrame({"e": pool.gather(again), "x": rng.integers(1, 1000, again.size)})
        fixed = fix.select(
            pl.col("e").str.replace("@", pl.col("x").cast(pl.String) + "@", literal=True)
        ).to_series()
        pool = pool.scatter(again, fixed)
    email1, email2, fam = pool[:n], pool[n : 2 * n], pool[2 * n :]
    # sharing: the family handle (or the head's own address) becomes each sharer's email;
    # a sharer's own address stays as their second email
    use_fam = rng.random(sh.size) < SHARED_EMAIL_FAMILY_HANDLE
    shared_of_hh = np.full(n_hh, -1, dtype=np.int64)
    shared_of_hh[sh] = np.where(use_fam, 2 * n + np.arange(sh.size), hs)
    src = np.where(shares, shared_of_hh[hh], np.arange(n))
    pool_all = pool
    e1 = pool_all.gather(src)
    e2 = pl.select(
        pl.when(pl.Series(shares & (src != np.arange(n)))).then(email1).otherwise(email2)
    ).to_series()
    e1 = pl.select(pl.when(pl.Series(has_email)).then(e1)).to_series()
    e2 = pl.select(pl.when(pl.Series(has_email)).then(e2)).to_series()

    # ---- stores (POS): one per store city; people shop at a store in their city if any
    n_st = store_cities.size
    st_country = T.city_country[store_cities]
    st_fmt = np.where(st_country == 2, 2, rng.integers(0, 2, n_st))
    habit = rng.random(n_st) < STORE_PHONE_HABIT_STORES
    if n_st:
        habit[rng.integers(0, n_st)] = True
    st_rate = np.where(habit, STORE_PHONE_HABIT_RATE, STORE_PHONE_OTHER_RATE)
    stores = pl.DataFrame(
        {
            "city": store_cities,
            "country": st_country,
            "phone": store_nsn,
            "kind": store_kind,
            "fmt": st_fmt,
            "phone_rate": st_rate,
            "phone_style": _pick(rng, n_st, _PHONE_STYLE["pos"][0]),
        }
    )
    store_of_city = np.full(len(T.city_country), -1, dtype=np.int64)
    store_of_city[store_cities] = np.arange(n_st)
    store = np.full(n, -1, dtype=np.int64)
    if n_st:
        store = store_of_city[city]
        for ci in range(3):
            cands = np.flatnonzero(st_country == ci)
            sel = np.flatnonzero((store < 0) & (country == ci))
            if sel.size and cands.size:
                store[sel] = cands[rng.integers(0, cands.size, sel.size)]
        left = np.flatnonzero(store < 0)
        store[left] = rng.integers(0, n_st, left.size)

    width = max(7, len(str(n)))
    num = rng.permutation(n)
    person_id = pl.Series(num).cast(pl.String).str.zfill(width)
    person_id = ("P" + person_id).alias("person")
    return _People(
        n=n,
        hh=hh,
        hh_start=hh_start,
        hh_size=sizes,
        pos=pos,
        role=role,
        anchor=anchor,
        female=female,
        gender=gender,
        group=group,
        birth=birth,
        given=given,
        surname=frame["surname"],
        maiden=frame["maiden"],
        short_surname=frame["short"],
        suffix=suffix,
        middle=middle,
        nick=nick,
        goes_by=goes_by,
        namesake_of=namesake_of,
        country=country,
        city=city,
        addr=addr,
        addr_cur=hh.astype(np.int64),
        addr_old=hh_old[hh],
        mover=mover,
        home=home,
        home_kind=home_kind,
        mobile=mobile,
        mobile_kind=mob_kind,
        old_phone=old_phone,
        old_kind=old_kind,
        work_phone=work_phone,
        work_kind=work_kind,
        email=e1,
        email2=e2,
        two_emails=two_emails,
        shares_email=shares,
        store=store,
        stores=stores,
        person_id=person_id,
        num=num,
    )


# =====================================================================================
# Records
# =====================================================================================

# Phone layouts. NANP: 0 "(604) 555-0134", 1 "604.555.0134", 2 "6045550134", 3 "604-555-0134",
# 4 "1-604-555-0134", 5 "604 555 0134", 6 "555-0134", 7 "+16045550134", 8 "+1 604-555-0134",
# 9 "+1 (604) 555-0134". UK: 0 "020 7946 0018", 1 "02079460018", 2 "+442079460018",
# 3 "+44 20 7946 0018".
_PHONE_STYLE = {
    "pos": ([0.32, 0.10, 0.30, 0.19, 0.03, 0.04, 0.02, 0, 0, 0], [0.6, 0.4, 0, 0]),
    "shopify": ([0, 0, 0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 1, 0]),
    "salesforce": ([0.62, 0.04, 0.08, 0.14, 0, 0, 0, 0, 0.08, 0.04], [0.6, 0, 0.1, 0.3]),
}
# Street type: full, abbreviation, abbreviation with a period.
_TYPE_STYLE = {
    "pos": [0.25, 0.75, 0],
    "shopify": [0.45, 0.40, 0.15],
    "salesforce": [0.5, 0.35, 0.15],
}
# Unit placement: 0 address2, 1 "line1, unit", 2 "line1 unit", 3 "unit-line1" (CA),
# 4 "line1\nunit" (Salesforce MailingStreet), 5 "unit, line1" (UK flats)
_UNIT_PLACE = {
    "pos": [0, 0.1, 0.85, 0.05, 0, 0],
    "shopify": [0.70, 0.12, 0.08, 0.10, 0, 0],
    "salesforce": [0, 0.25, 0.15, 0.10, 0.45, 0.05],
}
_UNIT_LABELS = (  # by unit kind: apt, unit, suite, #, flat
    ("Apt", "Apt.", "#", "Unit", "", "Apt"),
    ("Unit", "#", "Apt", ""),
    ("Suite", "Ste", "#", "Suite"),
    ("#", "Apt", "Unit", "#"),
    ("Flat", "Flat", "Apartment"),
)


def _typo(s: pl.Series, mask: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """A keyboard typo where ``mask``: substitution (a neighbouring key), deletion,
    transposition or a doubled letter, never on the first letter."""
    n = len(s)
    frame = pl.DataFrame(
        {"s": s, "m": mask, "u": rng.random(n), "u2": rng.random(n), "k": rng.integers(0, 4, n)}
    )
    c = pl.col
    frame = frame.with_columns(n=c("s").str.len_chars().cast(pl.Int64))
    frame = frame.with_columns(
        p=pl.min_horizontal((1 + c("u") * (c("n") - 1)).floor().cast(pl.Int64), c("n") - 1)
    ).with_columns(q=pl.min_horizontal(c("p"), c("n") - 2))
    frame = frame.with_columns(
        nb=c("s")
        .str.slice(c("p"), 1)
        .str.to_lowercase()
        .replace_strict(list(_KEYBOARD), list(_KEYBOARD.values()), default="aeiou")
    ).with_columns(
        letter=c("nb").str.slice((c("u2") * c("nb").str.len_chars()).floor().cast(pl.Int64), 1)
    )
    s_, p, q = c("s"), c("p"), c("q")
    typo = (
        pl.when(c("k") == 0)
        .then(s_.str.slice(0, p) + c("letter") + s_.str.slice(p + 1))
        .when(c("k") == 1)
        .then(s_.str.slice(0, p) + s_.str.slice(p + 1))
        .when(c("k") == 2)
        .then(
            s_.str.slice(0, q) + s_.str.slice(q + 1, 1) + s_.str.slice(q, 1) + s_.str.slice(q + 2)
        )
        .otherwise(s_.str.slice(0, p + 1) + s_.str.slice(p))
    )
    return frame.select(pl.when(c("m") & (c("n") >= 4)).then(typo).otherwise(s_)).to_series()


def _fmt_phone(nsn: pl.Expr, kind: pl.Expr, nanp_style: pl.Expr, uk_style: pl.Expr) -> pl.Expr:
    s = nsn.cast(pl.String)
    a, b, c = s.str.slice(0, 3), s.str.slice(3, 3), s.str.slice(6, 4)
    nanp = [
        "(" + a + ") " + b + "-" + c,
        a + "." + b + "." + c,
        s,
        a + "-" + b + "-" + c,
        "1-" + a + "-" + b + "-" + c,
        a + " " + b + " " + c,
        b + "-" + c,
        "+1" + s,
        "+1 " + a + "-" + b + "-" + c,
        "+1 (" + a + ") " + b + "-" + c,
    ]
    alen = pl.when(kind == 1).then(2).when(kind == 2).then(3).otherwise(4)
    area, rest = s.str.slice(0, alen), s.str.slice(alen)
    grouped = (
        pl.when(kind == 1)
        .then(rest.str.slice(0, 4) + " " + rest.str.slice(4))
        .when(kind == 2)
        .then(rest.str.slice(0, 3) + " " + rest.str.slice(3))
        .otherwise(rest)
    )
    uk = ["0" + area + " " + grouped, "0" + s, "+44" + s, "+44 " + area + " " + grouped]
    expr = pl.when(nsn.is_null()).then(None)
    for i, f in enumerate(nanp):
        expr = expr.when((kind == 0) & (nanp_style == i)).then(f)
    for i, f in enumerate(uk):
        expr = expr.when((kind > 0) & (uk_style == i)).then(f)
    return expr.otherwise(None)


class _Rand:
    """Fresh uniform columns (as literals) for one source's records."""

    def __init__(self, rng: np.random.Generator, n: int):
        self.rng, self.n = rng, n

    def u(self) -> pl.Expr:
        return pl.lit(pl.Series(self.rng.random(self.n)))

    def series(self) -> pl.Series:
        return pl.Series(self.rng.random(self.n))

    def pick(self, weights) -> pl.Expr:
        return pl.lit(pl.Series(_pick(self.rng, self.n, weights)))

    def choice(self, options) -> pl.Expr:
        return pl.lit(
            pl.Series(list(options), dtype=pl.String).gather(
                self.rng.integers(0, len(options), self.n)
            )
        )


def _case(expr: pl.Expr, code: pl.Expr) -> pl.Expr:
    """0 as typed, 1 lower, 2 upper."""
    return (
        pl.when(code == 1)
        .then(expr.str.to_lowercase())
        .when(code == 2)
        .then(expr.str.to_uppercase())
        .otherwise(expr)
    )


def _whitespace(expr: pl.Expr, mask: pl.Expr, code: pl.Expr) -> pl.Expr:
    noisy = (
        pl.when(code == 0)
        .then(" " + expr)
        .when(code == 1)
        .then(expr + " ")
        .otherwise(expr.str.replace(" ", "  ", literal=True) + " ")
    )
    return pl.when(mask).then(noisy).otherwise(expr)


def _source_records(
    source: str,
    rp: np.ndarray,
    dup: np.ndarray,
    alt: np.ndarray,
    nsrc: np.ndarray,
    plan: dict,
    P: _People,
    T: _Tables,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """One source's records for people ``rp`` (``dup`` > 0: a duplicate registration; ``alt``:
    this source holds the person's other state, e.g. a mover's old address; ``plan``: which
    email, phone and address each record carries, from ``_contact_plan``)."""
    R = rp.size
    rate = SOURCE_RATES[source]
    rnd = _Rand(rng, R)
    pos, shop, sf = source == "pos", source == "shopify", source == "salesforce"
    col = pl.col
    mover = P.mover[rp] & (nsrc >= 2)
    two = P.two_emails[rp] & (nsrc >= 2)
    d = pl.DataFrame(
        {
            "person": rp,
            "given0": T.given.gather(P.given[rp]),
            "nick": P.nick.gather(rp),
            "goes_by": P.goes_by[rp],
            "middle": P.middle.gather(rp),
            "sur0": P.surname.gather(rp),
            "maiden": P.maiden.gather(rp),
            "short": P.short_surname.gather(rp),
            "suffix": P.suffix.gather(rp),
            "gender0": P.gender[rp],
            "birth": pl.Series(P.birth[rp]).cast(pl.Int32).cast(pl.Date),
            "email1": P.email.gather(rp),
            "email2": P.email2.gather(rp),
            "alt": alt,
            "dup": dup,
            "mover": mover,
            "two": two,
            "single": nsrc == 1,
            "country0": P.country[rp].astype(np.int64),
        }
    )
    dupx = col("dup") > 0

    # ---- names: nickname, initial, middle initial, maiden name, Jr/Sr
    u = rnd.u()
    use_nick = col("nick").is_not_null() & (
        (col("goes_by") & (u < rate["nick_goer"])) | (u < rate["nick_casual"]) | (dupx & (u < 0.2))
    )
    dot = pl.when(rnd.u() < 0.5).then(pl.lit(".")).otherwise(pl.lit(""))
    d = d.with_columns(
        g=pl.when(rnd.u() < rate["initial"])
        .then(col("given0").str.slice(0, 1) + dot)
        .when(use_nick)
        .then(col("nick"))
        .otherwise(col("given0")),
        s=pl.when(
            col("maiden").is_not_null() & (col("alt") | (col("single") & dupx & (rnd.u() < 0.5)))
        )
        .then(col("maiden"))
        .when(col("short").is_not_null() & (rnd.u() < 0.3))
        .then(col("short"))
        .otherwise(col("sur0")),
        suf_txt=pl.when(rnd.u() < 0.4)
        .then(" " + col("suffix"))
        .when(rnd.u() < 0.5)
        .then(" " + col("suffix") + ".")
        .otherwise(", " + col("suffix") + "."),
    )
    d = d.with_columns(
        g=pl.when(col("middle").is_not_null() & (rnd.u() < rate["middle"]))
        .then(col("g") + " " + col("middle") + dot)
        .otherwise(col("g")),
        s=pl.when(col("suffix").is_not_null() & (rnd.u() < rate["suffix"]))
        .then(col("s") + col("suf_txt"))
        .otherwise(col("s")),
    )
    # typos (more on duplicate registrations), swapped fields, missing names
    scale = np.where(dup > 0, 3.0, 1.0)
    d = d.with_columns(
        g=_typo(d["g"], rng.random(R) < rate["typo_given"] * scale, rng),
        s=_typo(d["s"], rng.random(R) < rate["typo_surname"] * scale, rng),
    )
    swap = rnd.u() < rate["swap"]
    d = d.with_columns(
        g=pl.when(swap).then(col("s")).otherwise(col("g")),
        s=pl.when(swap).then(col("g")).otherwise(col("s")),
    )
    strip = rnd.u() < rate["strip_diacritics"]
    german = rnd.u() < rate["german_fold"]

    def fold(e: pl.Expr) -> pl.Expr:
        return (
            pl.when(strip & german)
            .then(e.str.replace_many(T.fold_de_from, T.fold_de_to))
            .when(strip)
            .then(e.str.replace_many(T.fold_from, T.fold_to))
            .otherwise(e)
        )

    d = d.with_columns(
        g=pl.when(rnd.u() < rate["missing_given"]).then(None).otherwise(fold(col("g"))),
        s=pl.when(rnd.u() < rate["missing_surname"]).then(None).otherwise(fold(col("s"))),
    )
    if rate["mojibake"]:  # exports opened with the wrong encoding
        moji = rnd.u() < rate["mojibake"]
        d = d.with_columns(
            g=pl.when(moji).then(col("g").str.replace_many(T.moji_from, T.moji_to)).otherwise("g"),
            s=pl.when(moji).then(col("s").str.replace_many(T.moji_from, T.moji_to)).otherwise("s"),
        )
    if pos:
        both = col("g").is_not_null() & col("s").is_not_null()
        d = d.with_columns(
            full_name=pl.when(both & (rnd.u() < 0.55))
            .then(col("s") + ", " + col("g"))
            .otherwise(pl.concat_str([col("g"), col("s")], separator=" ", ignore_nulls=True))
            .str.to_uppercase()
        )
        d = d.with_columns(
            full_name=pl.when(rnd.u() < rate["junk_name"])
            .then(rnd.choice(JUNK_NAMES_POS))
            .when(col("full_name") == "")
            .then(None)
            .otherwise(col("full_name"))
        )
        d = d.with_columns(
            full_name=_whitespace(
                col("full_name"), rnd.u() < rate["whitespace"], rnd.pick([1, 1, 1])
            ),
            given_name=pl.lit(None, pl.String),
            surname=pl.lit(None, pl.String),
        )
    else:
        code = rnd.pick([0.85, 0.09, 0.04, 0.02] if shop else [0.95, 0.02, 0.03, 0])
        junk = rnd.u() < rate["junk_name"]
        d = d.with_columns(
            given_name=pl.when(junk)
            .then(rnd.choice(JUNK_NAMES_FIRST))
            .when(code == 3)
            .then(col("g").str.to_lowercase())
            .otherwise(_case(col("g"), code)),
            surname=pl.when(junk & (rnd.u() < 0.5))
            .then(rnd.choice(JUNK_NAMES_FIRST))
            .otherwise(_case(col("s"), code)),
        )
        if sf:  # LastName is required in Salesforce
            d = d.with_columns(
                surname=pl.when(col("surname").is_null())
                .then(rnd.choice(SF_MISSING_LASTNAME))
                .otherwise(col("surname"))
            )
        d = d.with_columns(
            given_name=_whitespace(
                col("given_name"), rnd.u() < rate["whitespace"], rnd.pick([1, 2, 1])
            ),
            surname=_whitespace(col("surname"), rnd.u() < rate["whitespace"], rnd.pick([1, 2, 1])),
            full_name=pl.lit(None, pl.String),
        )

    # ---- email: second address on the alternate source and on duplicates; typos, case
    forced = col("mover") | col("two")
    free = ~forced
    d = d.with_columns(
        forced=forced,
        email=pl.when(pl.lit(pl.Series(plan["e_has"])))
        .then(pl.when(pl.lit(pl.Series(plan["e2"]))).then(col("email2")).otherwise(col("email1")))
        .otherwise(None),
    )
    typo_a = free & (rnd.u() < rate["email_domain_typo"])
    half = rnd.u() < 0.5
    d = d.with_columns(
        email=pl.when(typo_a & half)
        .then(col("email").str.replace_many(*_DOMAIN_TYPO_A))
        .when(typo_a)
        .then(col("email").str.replace_many(*_DOMAIN_TYPO_B))
        .otherwise(col("email")),
        local=col("email").str.extract(r"^([^@]+)@", 1),
        domain=col("email").str.extract(r"@(.+)$", 1),
    )
    d = d.with_columns(local=_typo(d["local"], np.ones(R, dtype=bool), rng))
    case = rnd.u()
    upper = free & (case < rate["email_upper"])
    recase = free & (case < rate["email_upper"] + rate["email_case"])
    d = d.with_columns(
        email=pl.when(free & (rnd.u() < rate["email_local_typo"]))
        .then(col("local") + "@" + col("domain"))
        .otherwise(col("email"))
    )
    d = d.with_columns(
        email=pl.when(upper)
        .then(col("email").str.to_uppercase())
        .when(recase & (rnd.u() < 0.7))
        .then(col("email").str.slice(0, 1).str.to_uppercase() + col("email").str.slice(1))
        .when(recase)
        .then(col("email").str.to_titlecase())
        .when(free & (rnd.u() < 0.004))
        .then(col("email") + " ")
        .otherwise(col("email"))
    )
    if rate["placeholder_email"]:
        d = d.with_columns(
            email=pl.when(col("email").is_null() & (rnd.u() < rate["placeholder_email"]))
            .then(rnd.choice(PLACEHOLDER_EMAILS))
            .otherwise(col("email"))
        )

    # ---- phone: old number on a mover's alternate source, work number, home or mobile
    conds = [plan["p_code"] == c for c in (_HOME, _MOB, _OLD, _WORK)]
    nsn = np.select(conds, [P.home[rp], P.mobile[rp], P.old_phone[rp], P.work_phone[rp]], 0)
    kind = np.select(
        conds, [P.home_kind[rp], P.mobile_kind[rp], P.old_kind[rp], P.work_kind[rp]], 0
    )
    d = d.with_columns(
        nsn=pl.when(pl.lit(pl.Series(plan["p_has"] & (nsn > 0)))).then(pl.lit(pl.Series(nsn))),
        pk=pl.Series(kind),
    )
    nanp_w, uk_w = _PHONE_STYLE[source]
    d = d.with_columns(phone=_fmt_phone(col("nsn"), col("pk"), rnd.pick(nanp_w), rnd.pick(uk_w)))
    if pos:
        st = P.store[rp]
        other = (dup > 0) & (rng.random(R) < 0.3)
        st = np.where(other, rng.integers(0, max(P.stores.height, 1), R), st)
        d = d.with_columns(
            st_phone=P.stores["phone"].gather(st),
            st_kind=P.stores["kind"].gather(st),
            st_fmt=P.stores["fmt"].gather(st),
            st_rate=P.stores["phone_rate"].gather(st),
            st_style=P.stores["phone_style"].gather(st),
        )
        style = col("st_style")
        store_phone = _fmt_phone(col("st_phone"), col("st_kind"), style, style % 2)
        d = d.with_columns(
            phone=pl.when(col("phone").is_null() & (rnd.u() < rate["store_phone"] * col("st_rate")))
            .then(store_phone)
            .otherwise(col("phone"))
        )
    if rate["junk_phone"]:
        d = d.with_columns(
            phone=pl.when(col("phone").is_null() & (rnd.u() < rate["junk_phone"]))
            .then(rnd.choice(JUNK_PHONES))
            .otherwise(col("phone"))
        )

    # ---- address
    d = d.with_columns(_address_columns(source, d, rp, alt, mover, plan["a_has"], P, T, rng, rnd))

    # ---- birth date and gender
    if rate["birthdate"]:
        err = rnd.u()
        b = col("birth")
        d = d.with_columns(
            b=pl.when(err < rate["birthdate_error"] * 0.5)
            .then(
                b.dt.offset_by(pl.when(rnd.u() < 0.5).then(pl.lit("1y")).otherwise(pl.lit("-1y")))
            )
            .when((err < rate["birthdate_error"]) & (b.dt.day() <= 12))
            .then(pl.date(b.dt.year(), b.dt.day(), b.dt.month()))
            .otherwise(b)
        )
        ph = rnd.u() < rate["placeholder_birthdate"]
        placeholder = (
            pl.when(rnd.u() < 0.6)
            .then(pl.lit(date(1900, 1, 1)))
            .otherwise(pl.lit(date(1970, 1, 1)))
        )
        d = d.with_columns(
            b=pl.when(ph)
            .then(placeholder)
            .when(rnd.u() < rate["birthdate"])
            .then(col("b"))
            .otherwise(None)
        )
        if pos:
            txt = (
                pl.when(col("st_fmt") == 0)
                .then(col("b").dt.strftime("%-m/%-d/%y"))
                .when(col("st_fmt") == 1)
                .then(col("b").dt.strftime("%m/%d/%Y"))
                .otherwise(col("b").dt.strftime("%d/%m/%Y"))
            )
        else:
            txt = col("b").dt.strftime("%Y-%m-%d")
        d = d.with_columns(birthdate=txt)
    else:
        d = d.with_columns(birthdate=pl.lit(None, pl.String))
    if rate["gender"]:
        g0 = col("gender0").cast(pl.Int64)
        code = pl.when(rnd.u() < 0.01).then(1 - g0.clip(0, 1)).otherwise(g0)
        labels = ["F", "M", "U"] if pos else ["Female", "Male", "Non-binary"]
        d = d.with_columns(
            gender=pl.when(rnd.u() < rate["gender"]).then(pl.lit(pl.Series(labels)).gather(code))
        )
    else:
        d = d.with_columns(gender=pl.lit(None, pl.String))

    # ---- record ids in creation order (unrelated to people)
    order = rng.permutation(R)
    rank = np.empty(R, dtype=np.int64)
    rank[order] = np.arange(R)
    if pos:
        rid = pl.Series(200_000_000_000 + np.cumsum(rng.integers(1, 40, R))).cast(pl.String)
    elif shop:
        rid = pl.Series(5_100_000_000_000 + np.cumsum(rng.integers(1_000, 400_000, R))).cast(
            pl.String
        )
    else:
        rid = _salesforce_ids(rng, R)
    d = d.with_columns(record_id=rid.gather(rank), rank=pl.Series(rank)).sort("rank")
    if shop:  # Shopify keeps email and phone unique per customer: later repeats are dropped
        kept = (
            d.select("forced", "email", "phone", first=col("dup") == 0)
            .with_row_index("i")
            .sort(["forced", "first", "i"], descending=[True, True, False])
            .with_columns(
                email=pl.when(
                    col("email").str.to_lowercase().str.strip_chars().is_first_distinct()
                ).then("email"),
                phone=pl.when(col("phone").is_first_distinct()).then("phone"),
            )
            .sort("i")
        )
        d = d.with_columns(email=kept["email"], phone=kept["phone"])
    return d.select(
        pl.lit(source).alias("source"),
        "record_id",
        *[col(c).cast(pl.String) for c in _TAGS[2:]],
        col("person"),
    )


def _address_columns(
    source, d, rp, alt, mover, has: np.ndarray, P: _People, T: _Tables, rng, rnd: _Rand
) -> list[pl.Series]:
    """address, address2, city, state, postal, country as this source writes them."""
    R = rp.size
    rate = SOURCE_RATES[source]
    pos, shop = source == "pos", source == "shopify"
    col = pl.col
    aid = np.where(mover & alt, P.addr_old[rp], P.addr_cur[rp])
    A = P.addr.select(pl.all().gather(aid))
    stype = A["stype"].to_numpy()
    cities = A["city"].to_numpy()
    acnt = T.city_alias_cnt[cities]
    ai = T.city_alias_off[cities] + np.minimum(
        (rng.random(R) * acnt).astype(np.int64), np.maximum(acnt - 1, 0)
    )
    use_alias = (acnt > 0) & (rng.random(R) < rate["city_alias"])
    lab_cnt = np.array([len(x) for x in _UNIT_LABELS])
    lab_off = np.concatenate([[0], np.cumsum(lab_cnt)[:-1]])
    ukind = np.maximum(A["unit_kind"].to_numpy(), 0)
    lab_i = lab_off[ukind] + (rng.random(R) * lab_cnt[ukind]).astype(np.int64)
    a = A.with_columns(
        country0=d["country0"],
        mover=pl.Series(mover),
        tfull=T.stype_full.gather(stype),
        tabbr=T.stype_abbr.gather(stype),
        label=pl.Series([x for lst in _UNIT_LABELS for x in lst]).gather(lab_i),
        cname=T.city_name.gather(cities),
        calias=T.city_alias.gather(np.where(use_alias, ai, 0)),
        use_alias=pl.Series(use_alias),
        region=T.city_region.gather(cities),
        region_name=T.city_region_name.gather(cities),
        dfull=pl.Series([x[0] for x in _DIRECTIONS] * 2).gather(np.clip(A["dir"].to_numpy(), 0, 7)),
        dabbr=pl.Series([x[1] for x in _DIRECTIONS] * 2).gather(np.clip(A["dir"].to_numpy(), 0, 7)),
    )
    tstyle = rnd.pick(_TYPE_STYLE[source])
    a = a.with_columns(
        ttxt=pl.when(tstyle == 0)
        .then(col("tfull"))
        .when((tstyle == 1) | col("tabbr").str.ends_with(".") | (col("tabbr") == col("tfull")))
        .then(col("tabbr"))
        .otherwise(col("tabbr") + "."),
        dtxt=pl.when(col("dir") < 0)
        .then(None)
        .when(rnd.u() < 0.4)
        .then(col("dfull"))
        .otherwise(col("dabbr")),
        num=col("num").cast(pl.String),
        unit_txt=pl.when(col("unit").is_null())
        .then(None)
        .when(col("label") == "")
        .then(col("unit"))
        .when(col("label") == "#")
        .then("#" + col("unit"))
        .otherwise(col("label") + " " + col("unit")),
    )
    comma = pl.when(rnd.u() < 0.3).then(pl.lit(",")).otherwise(pl.lit(""))
    a = a.with_columns(
        line1=pl.when(col("kind") == 1)
        .then(pl.concat_str([col("num") + comma, col("ttxt"), col("street")], separator=" "))
        .otherwise(
            pl.concat_str(
                [
                    col("num"),
                    pl.when(col("dir") < 4).then(col("dtxt")),
                    col("street"),
                    col("ttxt"),
                    pl.when(col("dir") >= 4).then(col("dtxt")),
                ],
                separator=" ",
                ignore_nulls=True,
            )
        )
    )
    place = rnd.pick(_UNIT_PLACE[source])
    ca, uk = col("country0") == 1, col("country0") == 2
    place = (
        pl.when((place == 3) & ~ca)
        .then(pl.lit(1))
        .when((place == 5) & ~uk)
        .then(pl.lit(1))
        .otherwise(place)
    )
    if shop:
        place = pl.when(uk & (rnd.u() < 0.4)).then(pl.lit(5)).otherwise(place)
    a = a.with_columns(place=place)
    a = a.with_columns(
        addr1=pl.when(col("unit_txt").is_null() | (col("place") == 0))
        .then(col("line1"))
        .when(col("place") == 1)
        .then(col("line1") + ", " + col("unit_txt"))
        .when(col("place") == 2)
        .then(col("line1") + " " + col("unit_txt"))
        .when(col("place") == 3)
        .then(col("unit") + "-" + col("line1"))
        .when(col("place") == 4)
        .then(col("line1") + "\n" + col("unit_txt"))
        .otherwise(col("unit_txt") + ", " + col("line1")),
        addr2=pl.when(col("unit_txt").is_not_null() & (col("place") == 0)).then(col("unit_txt")),
        city=pl.when(col("use_alias")).then(col("calias")).otherwise(col("cname")),
    )
    # region and country as this source writes them
    if pos:
        region = pl.when(uk | (rnd.u() < 0.2)).then(None).otherwise(col("region"))
        iso3 = pl.lit(pl.Series(["USA", "CAN", "GBR"])).gather(col("country0"))
        iso2 = pl.lit(pl.Series(["US", "CA", "UK"])).gather(col("country0"))
        country = pl.when(rnd.u() < 0.6).then(None).when(rnd.u() < 0.5).then(iso2).otherwise(iso3)
    elif shop:
        region = pl.when(uk).then(None).otherwise(col("region"))
        country = pl.lit(pl.Series(["US", "CA", "GB"])).gather(col("country0"))
    else:
        region = (
            pl.when(uk)
            .then(pl.when(rnd.u() < 0.4).then(col("region_name")))
            .when(rnd.u() < 0.55)
            .then(col("region_name"))
            .otherwise(col("region"))
        )
        names = [x for c in _COUNTRIES for x in _COUNTRY_NAMES[c]]
        at = col("country0") * 5 + pl.lit(pl.Series(rng.integers(0, 5, R)))
        country = pl.when(rnd.u() < 0.15).then(None).otherwise(pl.lit(pl.Series(names)).gather(at))
    # postal codes: ZIP+4, lost leading zeros, no space, lower case, Excel-protected
    postal = col("postal")
    nospace = rnd.u() < rate["postal_nospace"]
    lower = rnd.u() < rate["postal_lower"]
    zip4 = rnd.u() < rate["zip_plus4"]
    lost0 = rnd.u() < rate["zip_lost_zero"]
    apostrophe = rnd.u() < rate["zip_apostrophe"]
    a = a.with_columns(
        region=region,
        country=country,
        postal=pl.when(col("country0") != 0)
        .then(pl.when(nospace).then(postal.str.replace(" ", "", literal=True)).otherwise(postal))
        .when(zip4)
        .then(postal + "-" + col("plus4"))
        .when(lost0 & postal.str.starts_with("0"))
        .then(postal.str.strip_chars_start("0"))
        .when(apostrophe)
        .then("'" + postal)
        .otherwise(postal),
    )
    code = rnd.pick(
        {"pos": [0, 0, 1], "shopify": [0.86, 0.09, 0.05], "salesforce": [0.95, 0.01, 0.04]}[source]
    )
    a = a.with_columns(
        addr1=_case(col("addr1"), code),
        addr2=_case(col("addr2"), code),
        city=_case(col("city"), code),
        postal=pl.when(lower).then(col("postal").str.to_lowercase()).otherwise(col("postal")),
    )
    if pos:
        a = a.with_columns(
            addr1=col("addr1")
            .str.replace_all(".", "", literal=True)
            .str.replace_many(T.fold_from, T.fold_to),
            city=col("city").str.replace_many(T.fold_from, T.fold_to),
            postal=col("postal").str.to_uppercase(),
        )
    a = a.with_columns(
        addr1=_whitespace(col("addr1"), rnd.u() < rate["whitespace"], rnd.pick([0, 1, 1])),
        city=_whitespace(col("city"), rnd.u() < rate["whitespace"], rnd.pick([0, 1, 0])),
    )
    has = pl.lit(pl.Series(has))
    postal_only = rnd.u() < rate["postal_only"] / max(1e-9, 1 - rate["address"])
    out = a.select(
        address=pl.when(has).then(col("addr1")),
        address2=pl.when(has).then(col("addr2")) if shop else pl.lit(None, pl.String),
        city=pl.when(has).then(col("city")),
        state=pl.when(has).then(col("region")),
        postal=pl.when(has | postal_only).then(col("postal")),
        country=pl.when(has).then(col("country")),
    )
    return out.get_columns()


_TAGS = (
    "source",
    "record_id",
    "given_name",
    "surname",
    "full_name",
    "email",
    "phone",
    "address",
    "address2",
    "city",
    "state",
    "postal",
    "country",
    "birthdate",
    "gender",
)
_B62 = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
_SF_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)


def _salesforce_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """18-character Contact ids: 003 + pod + zeros + base-62 counter, with the case-checksum."""
    counter = 1_000_000 + np.cumsum(rng.integers(1, 4, n))
    chars = np.zeros((n, 18), dtype=np.uint8)
    chars[:, :10] = np.frombuffer(b"0035e00000", dtype=np.uint8)
    for i in range(5):
        chars[:, 14 - i] = _B62[counter % 62]
        counter //= 62
    for chunk in range(3):
        block = chars[:, chunk * 5 : chunk * 5 + 5]
        upper = (block >= ord("A")) & (block <= ord("Z"))
        bits = (upper * (1 << np.arange(5))).sum(axis=1)
        chars[:, 15 + chunk] = _SF_SUFFIX[bits]
    return pl.Series(chars.view("S18").ravel()).cast(pl.String)


def _records(P: _People, T: _Tables, rng: np.random.Generator, scenario: dict) -> pl.DataFrame:
    names = list(scenario["membership"])
    n, S = P.n, len(names)
    p = np.array([scenario["membership"][s] for s in names])
    probs = np.tile(p, (n, 1))
    if "shopify" in names:
        age = (_REF_DAYS - P.birth) / _YEAR
        probs[age > 70, names.index("shopify")] *= SHOPIFY_OVER_70
    member = rng.random((n, S)) < probs
    none = np.flatnonzero(~member.any(axis=1))
    member[none, _pick(rng, none.size, p)] = True
    n_src = member.sum(axis=1)
    # the source holding a person's other state: old address, second email, maiden name
    alt_src = np.where(member, rng.random((n, S)), 2.0).argmin(axis=1)
    parts = []
    for si, s in enumerate(names):
        persons = np.flatnonzero(member[:, si])
        dup_rate = SOURCE_RATES[s]["dup"]
        u = rng.random(persons.size)
        count = 1 + (u < dup_rate) + (u < dup_rate * 0.12)
        rp = np.repeat(persons, count)
        dup = np.arange(rp.size) - np.repeat(np.cumsum(count) - count, count)
        alt = (n_src[rp] >= 2) & (alt_src[rp] == si)
        parts.append((s, rp, dup, alt))
    plans = _contact_plan(parts, P, n_src, rng)
    frames = [
        _source_records(s, rp, dup, alt, n_src[rp], plan, P, T, rng)
        for (s, rp, dup, alt), plan in zip(parts, plans, strict=True)
    ]
    return pl.concat(frames)


_E1, _E2 = 1, 2  # email codes: the person's main address, the second one
_HOME, _MOB, _OLD, _WORK = 1, 2, 3, 4  # phone codes
_CUR_ADDR, _OLD_ADDR = 1, 2


def _contact_plan(parts, P: _People, n_src: np.ndarray, rng: np.random.Generator) -> list[dict]:
    """Which email, phone and street address each record carries (before typos and junk).

    Fill rates are drawn per record from the source table; then the records of one person are
    linked the way real systems link them (see ``LINK_*``): a pair of a person's records that
    would share no email, phone or address gets one, the email between the web shop and the CRM,
    the phone at the till, the address between two Shopify accounts; walk-ins stay bare."""
    src = np.concatenate([np.full(rp.size, i) for i, (_, rp, _, _) in enumerate(parts)])
    rp = np.concatenate([x[1] for x in parts])
    dup = np.concatenate([x[2] for x in parts])
    alt = np.concatenate([x[3] for x in parts])
    R = rp.size
    idx = np.arange(R)
    first = idx - dup  # a person's duplicates follow their first record in each source
    names = [x[0] for x in parts]

    def per_src(key: str) -> np.ndarray:
        return np.asarray([SOURCE_RATES[s][key] for s in names])[src]

    multi = n_src[rp] >= 2
    mover = P.mover[rp] & multi
    two = P.two_emails[rp] & multi
    is_pos = np.array([s == "pos" for s in names])[src]
    shop = np.array([s == "shopify" for s in names])[src]
    # email: the main address, the second one on the alternate source and on some duplicates
    # (a second Shopify account needs another address; a third one has none we know)
    has_email = P.email.is_not_null().to_numpy()[rp]
    e_has = mover | two | (rng.random(R) < per_src("email"))
    use2 = (alt & two) | ((dup > 0) & ~mover & (rng.random(R) < per_src("dup_other_email")))
    use2 = np.where(shop & (dup == 1), ~(alt & two), use2)
    e_code = np.where(has_email, np.where(use2, _E2, _E1), 0)
    # phone: a person gives the same number everywhere (home or mobile: one draw per person)
    home, mob = P.home[rp] > 0, P.mobile[rp] > 0
    prefer_home = rng.random(P.n)[rp] < per_src("home_phone_pref")
    prefer_home ^= (dup > 0) & (rng.random(R) < LINK_DUP_OTHER_PHONE)
    p_code = np.select(
        [
            mover & alt,
            mover,
            alt & two & (P.work_phone[rp] > 0),
            home & mob & prefer_home,
            mob,
            home,
        ],
        [_OLD, _MOB, _WORK, _HOME, _MOB, _HOME],
        0,
    )
    p_has = mover | (rng.random(R) < per_src("phone"))
    a_code = np.where(mover & alt, _OLD_ADDR, _CUR_ADDR)
    a_has = mover | (rng.random(R) < per_src("address"))
    # walk-ins: till records with neither email nor phone that stay so
    bare = is_pos & ~(e_has & (e_code > 0)) & ~(p_has & (p_code > 0))
    walk_in = bare & (rng.random(R) < LINK_WALK_IN_KEEP)
    # values that can link: Shopify drops an email or phone another customer record already has
    # (a second account's, a family address or a home phone another member registered first)
    in_family = P.hh_size[P.hh[rp]] >= 2
    e_link = (e_code > 0) & ~(shop & ((dup >= 2) | (P.shares_email[rp] & (e_code == _E1))))
    p_link = (p_code > 0) & ~(
        shop & (((dup > 0) & (p_code == p_code[first])) | ((p_code == _HOME) & in_family))
    )

    # link the pairs of one person's records that would share nothing
    frame = pl.DataFrame({"person": rp, "i": idx})
    pairs = frame.join(frame, on="person", suffix="_b").filter(pl.col("i") < pl.col("i_b"))
    i, j = pairs["i"].to_numpy(), pairs["i_b"].to_numpy()
    e_ok = (e_code[i] == e_code[j]) & e_link[i] & e_link[j]
    p_ok = (p_code[i] == p_code[j]) & p_link[i] & p_link[j]
    a_ok = a_code[i] == a_code[j]
    shared = (
        (e_ok & e_has[i] & e_has[j]) | (p_ok & p_has[i] & p_has[j]) | (a_ok & a_has[i] & a_has[j])
    )
    fix = ~shared & ~walk_in[i] & ~walk_in[j] & (rng.random(i.size) >= LINK_UNLINKED)
    till = (is_pos[i] | is_pos[j]) & (rng.random(i.size) < LINK_TILL_PHONE_FIRST)
    # the identifier both records get: 0 email, 1 phone, 2 address, 3 none possible
    kind = np.select([till & p_ok, e_ok, p_ok, a_ok], [1, 0, 1, 2], 3)
    for k, has in enumerate((e_has, p_has, a_has)):
        sel = fix & (kind == k)
        has[i[sel]] = True
        has[j[sel]] = True

    plans, start = [], 0
    for _, part_rp, _, _ in parts:
        sl = slice(start, start + part_rp.size)
        start += part_rp.size
        plans.append(
            {
                "e_has": e_has[sl],
                "e2": e_code[sl] == _E2,
                "p_has": p_has[sl] & (p_code[sl] > 0),
                "p_code": p_code[sl],
                "a_has": a_has[sl],
            }
        )
    return plans


# =====================================================================================
# Relations, people and the public API
# =====================================================================================


_KINDS = ("household", "namesake", "shared_email", "twin")


def _relations(P: _People, T: _Tables) -> pl.DataFrame:
    a_parts, b_parts, kinds = [], [], []

    def add(a, b, kind):
        a_parts.append(a)
        b_parts.append(b)
        kinds.append(np.full(a.size, _KINDS.index(kind), dtype=np.int64))

    for a in range(4):
        for b in range(a + 1, 4):
            hs = np.flatnonzero(P.hh_size > b)
            i, j = P.hh_start[hs] + a, P.hh_start[hs] + b
            twin = (P.role[j] == TWIN) & (P.anchor[j] == i)
            add(i[~twin], j[~twin], "household")
            add(i[twin], j[twin], "twin")
            sh = P.shares_email[i] & P.shares_email[j]
            add(i[sh], j[sh], "shared_email")
    keys = pl.DataFrame(
        {
            "i": np.arange(P.n),
            "hh": P.hh,
            "gk": T.given_key[P.given],
            "sk": pl.select(_fold_lower_alnum(pl.lit(P.surname), T)).to_series(),
        }
    )
    same = (
        keys.join(keys, on=["gk", "sk"], suffix="_b")
        .filter((pl.col("i") < pl.col("i_b")) & (pl.col("hh") != pl.col("hh_b")))
        .select("i", "i_b")
    )
    add(same["i"].to_numpy(), same["i_b"].to_numpy(), "namesake")
    a = np.concatenate(a_parts).astype(np.int64)
    b = np.concatenate(b_parts).astype(np.int64)
    swap = P.num[a] > P.num[b]
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    rel = pl.DataFrame(
        {
            "person_a": P.person_id.gather(a),
            "person_b": P.person_id.gather(b),
            "kind": pl.Series(list(_KINDS), dtype=pl.String).gather(np.concatenate(kinds)),
        }
    )
    return rel.unique().sort("kind", "person_a", "person_b")


def _phone_e164(nsn: np.ndarray, kind: np.ndarray) -> pl.Series:
    s = pl.Series(nsn).cast(pl.String)
    cc = pl.Series(np.where(kind > 0, "+44", "+1"))
    return pl.select(pl.when(pl.Series(nsn) > 0).then(cc + s)).to_series()


def _people_frame(P: _People, T: _Tables) -> pl.DataFrame:
    def line(ids: np.ndarray) -> pl.DataFrame:
        A = P.addr.select(pl.all().gather(np.maximum(ids, 0)))
        t = T.stype_full.gather(A["stype"].to_numpy())
        d = A["dir"].to_numpy()
        dnames = np.array([x[0] for x in _DIRECTIONS] * 2 + [""], dtype=object)
        dn = pl.Series(dnames[np.where(d < 0, 8, d)], dtype=pl.String)
        out = A.with_columns(t=t, dn=dn).select(
            address=pl.when(pl.col("kind") == 1)
            .then(
                pl.concat_str(
                    [pl.col("num").cast(pl.String), pl.col("t"), pl.col("street")], separator=" "
                )
            )
            .otherwise(
                pl.concat_str(
                    [
                        pl.col("num").cast(pl.String),
                        pl.when((pl.col("dir") >= 0) & (pl.col("dir") < 4)).then("dn"),
                        pl.col("street"),
                        pl.col("t"),
                        pl.when(pl.col("dir") >= 4).then("dn"),
                    ],
                    separator=" ",
                    ignore_nulls=True,
                )
            ),
            unit=pl.col("unit"),
            city=T.city_name.gather(A["city"].to_numpy()),
            state=T.city_region.gather(A["city"].to_numpy()),
            postal=pl.col("postal"),
            country=pl.lit(pl.Series(list(_COUNTRIES))).gather(pl.col("country").cast(pl.Int64)),
        )
        missing = pl.Series(ids < 0)
        return out.select(
            pl.when(missing).then(None).otherwise(pl.col(c)).alias(c) for c in out.columns
        )

    cur = line(P.addr_cur)
    old = line(P.addr_old).rename(lambda c: "old_" + c)
    ids = P.person_id
    return pl.concat(
        [
            pl.DataFrame(
                {
                    "person": ids,
                    "household": pl.Series(P.hh).cast(pl.String),
                    "role": pl.Series(list(_ROLE_NAMES)).gather(P.role.astype(np.int64)),
                    "group": pl.Series(list(T.groups)).gather(P.group.astype(np.int64)),
                    "gender": pl.Series(["F", "M", "X"]).gather(P.gender.astype(np.int64)),
                    "given_name": T.given.gather(P.given),
                    "nickname": P.nick,
                    "goes_by_nickname": P.goes_by,
                    "middle_initial": P.middle,
                    "surname": P.surname,
                    "maiden_name": P.maiden,
                    "suffix": P.suffix,
                    "birthdate": pl.Series(P.birth).cast(pl.Int32).cast(pl.Date),
                    "email": P.email,
                    "email2": P.email2,
                    "two_emails": P.two_emails,
                    "shares_email": P.shares_email,
                    "home_phone": _phone_e164(P.home, P.home_kind),
                    "mobile_phone": _phone_e164(P.mobile, P.mobile_kind),
                    "old_phone": _phone_e164(P.old_phone, P.old_kind),
                    "work_phone": _phone_e164(P.work_phone, P.work_kind),
                    "mover": P.mover,
                    "twin_of": pl.select(
                        pl.when(pl.Series(P.anchor >= 0)).then(ids.gather(np.maximum(P.anchor, 0)))
                    ).to_series(),
                    "namesake_of": pl.select(
                        pl.when(pl.Series(P.namesake_of >= 0)).then(
                            ids.gather(np.maximum(P.namesake_of, 0))
                        )
                    ).to_series(),
                }
            ),
            cur,
            old,
        ],
        how="horizontal",
    )


@dataclass(frozen=True)
class HeldOut:
    records: pl.DataFrame
    truth: pl.DataFrame
    relations: pl.DataFrame
    # one row per true person with the facts behind the records: household, role, true names,
    # nickname, maiden name, Jr/Sr, birth date, both emails, home/mobile/old/work phones,
    # current and old address, and the mover / two_emails / shares_email / twin_of /
    # namesake_of flags (None from ``generate``, which skips building it)
    people: pl.DataFrame | None


def _generate(persons: int, seed: int, scenario: str, with_people: bool) -> HeldOut:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {sorted(SCENARIOS)}")
    if persons < 1:
        raise ValueError("persons must be positive")
    T = _tables()
    rng = np.random.default_rng(np.random.PCG64([seed, list(SCENARIOS).index(scenario)]))
    P = _people(persons, rng, SCENARIOS[scenario], T)
    recs = _records(P, T, rng, SCENARIOS[scenario])
    recs = recs.with_columns(person=P.person_id.gather(recs["person"].to_numpy()))
    records = recs.select(_TAGS)
    truth = recs.select("source", "record_id", "person")
    del recs
    people = _people_frame(P, T) if with_people else None
    return HeldOut(records, truth, _relations(P, T), people)


def generate_detailed(persons: int, seed: int = 0, scenario: str = "three_sources") -> HeldOut:
    """``generate`` plus the per-person ground truth (``HeldOut.people``)."""
    return _generate(persons, seed, scenario, with_people=True)


def generate(
    persons: int, seed: int = 0, scenario: str = "three_sources"
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(records, truth, relations) for ``persons`` true people; see the module docstring."""
    out = _generate(persons, seed, scenario, with_people=False)
    return out.records, out.truth, out.relations


# =====================================================================================
# Summary
# =====================================================================================


def summary(out: HeldOut) -> dict:
    people = out.people
    n = people.height
    per_date = people.group_by("birthdate").len()["len"]
    sk = people.select(_fold_lower_alnum(pl.col("surname"), _tables()).alias("k"))["k"]
    gk = people.select(_fold_lower_alnum(pl.col("given_name"), _tables()).alias("k"))["k"]
    top10_s = float(sk.value_counts(sort=True)["count"].head(10).sum() / n)
    top10_g = float(gk.value_counts(sort=True)["count"].head(10).sum() / n)
    return {
        "records": out.records.height,
        "persons": n,
        "records_per_person": out.records.height / n,
        "records_per_source": dict(out.records.group_by("source").len().sort("source").iter_rows()),
        "relations": dict(out.relations.group_by("kind").len().sort("kind").iter_rows()),
        "median_persons_per_birthdate": float(per_date.median()),
        "distinct_birthdates": per_date.len(),
        "top10_surname_share": top10_s,
        "distinct_surnames": sk.n_unique(),
        "top_surnames": sk.value_counts(sort=True).head(5)["k"].to_list(),
        "top10_given_share": top10_g,
        "top_given": gk.value_counts(sort=True).head(5)["k"].to_list(),
        "movers": int(people["mover"].sum()),
        "two_emails": int(people["two_emails"].sum()),
        "maiden_names": int(people["maiden_name"].is_not_null().sum()),
        "injected_namesakes": int(people["namesake_of"].is_not_null().sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="three_sources")
    args = parser.parse_args()
    start = time.perf_counter()
    out = generate_detailed(args.persons, args.seed, args.scenario)
    seconds = time.perf_counter() - start
    info = summary(out)
    print(
        f"scenario {args.scenario}, seed {args.seed}: generated in {seconds:.1f} s, peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    for key, value in info.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        print(f"  {key:30s} {value}")


if __name__ == "__main__":
    main()
