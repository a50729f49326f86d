"""Reference lists for the sample-data generator: names, nicknames, places and streets.

Lists are ordered from common to rare; the generator draws from them with Zipf-like weights,
so the order matters (common names repeat, rare ones make blocking and frequency weighting
interesting). Everything here is plain data: no randomness, so the generator stays
deterministic for a seed.
"""

from __future__ import annotations

import itertools


def _unique(words: str) -> tuple[str, ...]:
    """Split a whitespace-separated word list and drop repeats, keeping first occurrence order."""
    return tuple(dict.fromkeys(words.split()))


# US given names, roughly by popularity across the birth years 1940-2006, with a spread of
# origins so that name matching meets more than Anglo names.
_MALE_GIVEN_NAMES = _unique(
    """
    James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel
    Matthew Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy
    Ronald Jason Edward Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin
    Scott Brandon Benjamin Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry
    Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter Kyle Noah Ethan Jeremy Walter
    Christian Keith Roger Terry Austin Sean Gerald Carl Harold Dylan Arthur Lawrence Jordan
    Jesse Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert Willie Elijah Wayne Randy
    Vincent Mason Roy Ralph Bobby Russell Bradley Philip Eugene Louis Harry Howard Lucas Liam
    Oliver Aiden Carter Owen Wyatt Luke Isaac Caleb Hunter Connor Eli Landon Adrian Jaxon Julian
    Levi Isaiah Evan Nolan Miles Colton Cameron Cooper Dominic Xavier Carlos Luis Miguel Diego
    Antonio Jesus Manuel Francisco Javier Ricardo Fernando Alejandro Eduardo Mateo Santiago
    Andres Rafael Pedro Hector Marcus Derek Travis Shane Cody Chad Troy Marvin Leonard Curtis
    Earl Glenn Dale Stanley Clarence Leroy Melvin Vernon Floyd Herbert Lloyd Frederick Theodore
    Edwin Alfred Francis Bernard Gordon Warren Calvin Nathaniel Victor Martin Craig Todd Phillip
    Allen Ray Johnny Jimmy Tony Danny Mario Ricky Oscar Jay Ian Seth Wesley Dustin Marc Omar
    Hassan Ali Ahmed Mohammed Wei Hiroshi Raj Arjun Vikram Sanjay Dmitri Ivan Sergei Andre
    Pierre Lars Sven Kwame Tariq Kofi Malik Jamal DeShawn Tyrone Darnell Reginald Jerome Lamar
    Terrence Cedric Rodney Maurice Byron Clifford Wallace Lowell Elmer Chester Milton Homer
    """
)

_FEMALE_GIVEN_NAMES = _unique(
    """
    Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty
    Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah
    Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma
    Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet Catherine Maria Heather
    Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina Joan Evelyn Judith
    Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn
    Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly
    Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Ava Mia Harper
    Amelia Ella Chloe Zoe Lily Aria Layla Riley Nora Scarlett Hazel Aurora Savannah Audrey
    Brooklyn Bella Claire Skylar Lucy Paisley Everly Caroline Genesis Naomi Elena Valentina
    Camila Lucia Sofia Gabriela Daniela Mariana Ximena Isabel Carmen Rosa Guadalupe Veronica
    Adriana Monica Yolanda Leticia Alma Tiffany Crystal Erica Erin Tracy Wendy Dawn Tammy Kristen
    Kristin Courtney Whitney Lindsey Stacy Tara Holly Jill Robin April Kim Meghan Allison Alyssa
    Jasmine Destiny Brianna Morgan Haley Sydney Taylor Mackenzie Jenna Paige Shelby Kaitlyn
    Caitlin Molly Margot Colleen Bridget Maureen Eileen Peggy Rita Lillian Edna Gladys Irene
    Florence Mildred Ethel Thelma Josephine Norma Lois Bonnie Wanda Beatrice Priya Ananya Mei
    Yuki Sakura Fatima Aisha Leila Zara Ingrid Astrid Olga Natasha Svetlana Keisha Latoya
    Shanice Imani Ebony Eleanor Penelope Stella Violet Leah Madeline Autumn Ruby Sadie Vivian
    """
)

# (given name, gender) with gender "M" or "F"; common names first within each gender.
GIVEN_NAMES: tuple[tuple[str, str], ...] = tuple(
    [(name, "M") for name in _MALE_GIVEN_NAMES] + [(name, "F") for name in _FEMALE_GIVEN_NAMES]
)

# Real common US surnames, most common first (after the Census surname list's order).
_REAL_SURNAMES = _unique(
    """
    Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
    Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
    Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
    Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
    Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
    Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
    Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
    Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell
    Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
    Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
    Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez
    McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns
    Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt
    Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer
    Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant
    Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight
    Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado
    Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence
    Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez
    Harper Burke Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson
    Jacobs O'Brien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert
    Dean Sims Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber
    Welch Rojas Lucas Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz
    Luna Fowler Mejia Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez
    Douglas Schneider Joseph Barrett Navarro Figueroa Keller Avila Wade Molina Stanley Hopkins
    Campos Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd Craig Ayala Lowe Frazier
    Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz Norris Jennings
    Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt DeLeon Barker Terry
    Hale Leon Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe Warner Cabrera
    McKinney Mann Zimmerman Dawson Lara Fletcher Page McCarthy Love Robles Cervantes Solis
    Erickson Reeves Chang Klein Salinas Fuentes Baldwin Daniel Simon Velasquez Hardy Higgins
    Aguirre Lin Cummings Chandler Sharp Barber Bowen Ochoa Dennis Robbins Liu Ramsey Francis
    Griffith Paul Blair O'Connor Cardenas Pacheco Cross Calderon Quinn Moss Swanson Chan Rivas
    Khan Rodgers Serrano Fitzgerald Rosales Stevenson Christensen Manning Gill Curry McLaughlin
    Harmon McGee Gross Doyle Garner Newton Burgess Reese Walton Blake Trujillo Adkins Brady
    Goodman Roman Webster Goodwin Fischer Huang Potter Delacruz Montoya Todd Wu Hines Mullins
    Castaneda Malone Cannon Tate Mack Sherman Hubbard Hodges Zhang Guerra Wolf Valencia Saunders
    Franco Rowe Gallagher Farmer Hammond Hampton Townsend Ingram Wise Gallegos Clarke Barton
    Schroeder Maxwell Waters Logan Camacho Strickland Norman Person Colon Parsons Frank
    Harrington Glover Osborne Buchanan Casey Floyd Patton Ibarra Ball Tyler Suarez Bowers Orozco
    Salas Cobb Gibbs Andrade Bauer Conner Moody Escobar McGuire Lloyd Mueller Hartman French
    Kramer McBride Pope Lindsey Velazquez Norton McCormick Sparks Flynn Yates Hogan Marsh Macias
    Villanueva Zamora Pratt Stokes Owen Ballard Lang Brock Villarreal Charles Drake Barrera Cain
    Patrick Pineda Burnett Mercado Santana Shepherd Bautista Ali Shaffer Lamb Trevino McKenzie
    Hess Olsen Cochran Morton Nash Wilkins Petersen Briggs Shah Roth Nicholson Holloway Lozano
    Rangel Flowers Hoover Short Arias Mora Valenzuela Bryan Meyers Weiss Underwood Bass Greer
    Summers Houston Carson Morrow Clayton Whitaker Decker Yoder Collier Zuniga Carey Wilcox
    Melendez Poole Roberson Larsen Conley Davenport Copeland Massey Lam Huff Rocha Cameron
    Jefferson Hood Monroe Anthony Pittman Huynh Randall Singleton Kirk Combs Mathis Christian
    Skinner Bradford Richard Galvan Wall Boone Kirby Wilkinson Bridges Bruce Atkinson Velez Meza
    Roy Vincent York Hodge Villa Abbott Allison Tapia Gates Chase Sosa Sweeney Farrell Wyatt
    Dalton Horn Barron Phelps Yu Dickerson Heath Foley Atkins Mathews Bonilla Acevedo Benitez
    Zavala Hensley Glenn Cisneros Harrell Shields Rubio Huffman Choi Boyer Garrison Arroyo Bond
    Kane Hancock Callahan Dillon Cline Wiggins Grimes Arellano Melton O'Neill Savage Ho Beltran
    Pitts Parrish Ponce Rich Booth Koch Golden Ware Brennan McDowell Marks Cantu Humphrey Baxter
    Sawyer Clay Tanner Hutchinson Kaur Berg Wiley Gilmore Russo Villegas Hobbs Keith Wilkerson
    Ahmed Beard McClain Montes Mata Rosario Vang Walter Henson O'Donnell Levy Xiong Kowalski
    Nowak Novak Horvat Jansen DeVries Nakamura Tanaka Suzuki Yamamoto Sato Kobayashi Watanabe
    Ivanov Petrov Smirnov Kuznetsov Popescu Papadopoulos Rossi Bianchi Ferrari Esposito Romano
    Muller Schafer Wagner Hoffmann Lehmann Kaiser Schulz Okafor Adeyemi Mensah Osei Mwangi Diallo
    Nasser Haddad Khoury Rahman Hussain Chaudhry Iyer Reddy Nair Gupta Sharma Mehta Desai Joshi
    Kapoor Malhotra Bhatt Banerjee Mukherjee Choudhury Zbigniewski Wojcik Kaminski Lewandowski
    Zielinski Szymanski Dabrowski Kozlowski Jankowski Mazur Krawczyk Piotrowski Grabowski
    """
)

# The common surnames alone, most common first (the realistic profile gives them frequencies).
COMMON_SURNAMES: tuple[str, ...] = _REAL_SURNAMES

# Syllables that build plausible but rare surnames, so that the long tail of the surname
# distribution is wide (as in a real customer base) without shipping a 100k-name list.
_SURNAME_HEADS = (
    "Ab Bel Cor Dan El Fal Gar Hal Ing Kes Lor Mar Nor Os Pel Quin Ros Sel Tor Vel Wen Yar Zel "
    "Bran Cal Dor Fen Gil Har Kal Ash Brook Crane Dun Fair Glad Hol Kirk Lind Mor Pem Rad Stan "
    "Thorn Wald"
).split()
_SURNAME_TAILS = (
    "by den ford ham ley man mont ner ski son ton well wick wood ova enko berg stein ridge croft "
    "field gate hurst land more ov ez ini akis sen"
).split()

SURNAMES: tuple[str, ...] = tuple(
    dict.fromkeys(
        list(_REAL_SURNAMES)
        + [head + tail for tail, head in itertools.product(_SURNAME_TAILS, _SURNAME_HEADS)]
    )
)

# (formal given name, nickname). A formal name may have several nicknames.
NICKNAMES: tuple[tuple[str, str], ...] = (
    ("Robert", "Bob"),
    ("Robert", "Rob"),
    ("Robert", "Bobby"),
    ("William", "Bill"),
    ("William", "Will"),
    ("William", "Billy"),
    ("Elizabeth", "Liz"),
    ("Elizabeth", "Beth"),
    ("Elizabeth", "Betsy"),
    ("Elizabeth", "Lizzie"),
    ("Katherine", "Kate"),
    ("Katherine", "Katie"),
    ("Katherine", "Kathy"),
    ("Catherine", "Cathy"),
    ("Catherine", "Cat"),
    ("Kathleen", "Kathy"),
    ("Kathryn", "Kate"),
    ("James", "Jim"),
    ("James", "Jimmy"),
    ("James", "Jamie"),
    ("John", "Jack"),
    ("John", "Johnny"),
    ("Michael", "Mike"),
    ("Michael", "Mikey"),
    ("David", "Dave"),
    ("Richard", "Rick"),
    ("Richard", "Dick"),
    ("Richard", "Rich"),
    ("Joseph", "Joe"),
    ("Joseph", "Joey"),
    ("Thomas", "Tom"),
    ("Thomas", "Tommy"),
    ("Christopher", "Chris"),
    ("Charles", "Charlie"),
    ("Charles", "Chuck"),
    ("Daniel", "Dan"),
    ("Daniel", "Danny"),
    ("Matthew", "Matt"),
    ("Anthony", "Tony"),
    ("Donald", "Don"),
    ("Steven", "Steve"),
    ("Stephen", "Steve"),
    ("Andrew", "Andy"),
    ("Andrew", "Drew"),
    ("Kenneth", "Ken"),
    ("Kenneth", "Kenny"),
    ("Timothy", "Tim"),
    ("Ronald", "Ron"),
    ("Edward", "Ed"),
    ("Edward", "Eddie"),
    ("Edward", "Ted"),
    ("Jeffrey", "Jeff"),
    ("Nicholas", "Nick"),
    ("Jonathan", "Jon"),
    ("Lawrence", "Larry"),
    ("Samuel", "Sam"),
    ("Benjamin", "Ben"),
    ("Gregory", "Greg"),
    ("Alexander", "Alex"),
    ("Patrick", "Pat"),
    ("Gerald", "Jerry"),
    ("Raymond", "Ray"),
    ("Zachary", "Zach"),
    ("Douglas", "Doug"),
    ("Peter", "Pete"),
    ("Walter", "Walt"),
    ("Frederick", "Fred"),
    ("Theodore", "Ted"),
    ("Theodore", "Teddy"),
    ("Nathaniel", "Nate"),
    ("Nathan", "Nate"),
    ("Phillip", "Phil"),
    ("Philip", "Phil"),
    ("Alfred", "Al"),
    ("Albert", "Al"),
    ("Harold", "Hal"),
    ("Henry", "Hank"),
    ("Leonard", "Len"),
    ("Vincent", "Vince"),
    ("Eugene", "Gene"),
    ("Bernard", "Bernie"),
    ("Margaret", "Maggie"),
    ("Margaret", "Peggy"),
    ("Margaret", "Meg"),
    ("Patricia", "Pat"),
    ("Patricia", "Patty"),
    ("Patricia", "Trish"),
    ("Jennifer", "Jen"),
    ("Jennifer", "Jenny"),
    ("Susan", "Sue"),
    ("Susan", "Susie"),
    ("Jessica", "Jess"),
    ("Deborah", "Deb"),
    ("Deborah", "Debbie"),
    ("Debra", "Debbie"),
    ("Rebecca", "Becky"),
    ("Pamela", "Pam"),
    ("Christine", "Chris"),
    ("Christina", "Tina"),
    ("Samantha", "Sam"),
    ("Victoria", "Vicky"),
    ("Victoria", "Tori"),
    ("Barbara", "Barb"),
    ("Dorothy", "Dot"),
    ("Cynthia", "Cindy"),
    ("Stephanie", "Steph"),
    ("Kimberly", "Kim"),
    ("Amanda", "Mandy"),
    ("Melissa", "Missy"),
    ("Judith", "Judy"),
    ("Abigail", "Abby"),
    ("Jacqueline", "Jackie"),
    ("Theresa", "Terri"),
    ("Teresa", "Terri"),
    ("Josephine", "Jo"),
    ("Beverly", "Bev"),
    ("Frances", "Fran"),
    ("Virginia", "Ginny"),
    ("Gabriela", "Gaby"),
    ("Valentina", "Val"),
    ("Natalie", "Nat"),
    ("Isabella", "Bella"),
    ("Sandra", "Sandy"),
    ("Danielle", "Dani"),
    ("Caroline", "Carrie"),
    ("Allison", "Ally"),
    ("Madison", "Maddie"),
    ("Evelyn", "Evie"),
    ("Olivia", "Liv"),
    ("Sophia", "Sophie"),
    ("Eleanor", "Ellie"),
    ("Madeline", "Maddie"),
    ("Alexis", "Lexi"),
)

# State code -> full name (50 states and DC).
STATE_NAMES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
}

# (city, state code, 3-digit ZIP prefix, telephone area code), larger cities first.
# New England and New Jersey prefixes start with 0, which spreadsheets love to drop.
CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("New York", "NY", "100", "212"),
    ("Los Angeles", "CA", "900", "213"),
    ("Chicago", "IL", "606", "312"),
    ("Houston", "TX", "770", "713"),
    ("Phoenix", "AZ", "850", "602"),
    ("Philadelphia", "PA", "191", "215"),
    ("San Antonio", "TX", "782", "210"),
    ("San Diego", "CA", "921", "619"),
    ("Dallas", "TX", "752", "214"),
    ("Brooklyn", "NY", "112", "718"),
    ("San Jose", "CA", "951", "408"),
    ("Austin", "TX", "787", "512"),
    ("Jacksonville", "FL", "322", "904"),
    ("Fort Worth", "TX", "761", "817"),
    ("Columbus", "OH", "432", "614"),
    ("Charlotte", "NC", "282", "704"),
    ("San Francisco", "CA", "941", "415"),
    ("Indianapolis", "IN", "462", "317"),
    ("Seattle", "WA", "981", "206"),
    ("Denver", "CO", "802", "303"),
    ("Washington", "DC", "200", "202"),
    ("Boston", "MA", "021", "617"),
    ("El Paso", "TX", "799", "915"),
    ("Nashville", "TN", "372", "615"),
    ("Detroit", "MI", "482", "313"),
    ("Portland", "OR", "972", "503"),
    ("Las Vegas", "NV", "891", "702"),
    ("Memphis", "TN", "381", "901"),
    ("Louisville", "KY", "402", "502"),
    ("Baltimore", "MD", "212", "410"),
    ("Milwaukee", "WI", "532", "414"),
    ("Albuquerque", "NM", "871", "505"),
    ("Tucson", "AZ", "857", "520"),
    ("Fresno", "CA", "937", "559"),
    ("Mesa", "AZ", "852", "480"),
    ("Sacramento", "CA", "958", "916"),
    ("Atlanta", "GA", "303", "404"),
    ("Kansas City", "MO", "641", "816"),
    ("Colorado Springs", "CO", "809", "719"),
    ("Omaha", "NE", "681", "402"),
    ("Raleigh", "NC", "276", "919"),
    ("Miami", "FL", "331", "305"),
    ("Long Beach", "CA", "908", "562"),
    ("Virginia Beach", "VA", "234", "757"),
    ("Oakland", "CA", "946", "510"),
    ("Minneapolis", "MN", "554", "612"),
    ("Tulsa", "OK", "741", "918"),
    ("Tampa", "FL", "336", "813"),
    ("Arlington", "VA", "222", "703"),
    ("New Orleans", "LA", "701", "504"),
    ("Wichita", "KS", "672", "316"),
    ("Cleveland", "OH", "441", "216"),
    ("Bronx", "NY", "104", "718"),
    ("Newark", "NJ", "071", "973"),
    ("Jersey City", "NJ", "073", "201"),
    ("Oklahoma City", "OK", "731", "405"),
    ("Honolulu", "HI", "968", "808"),
    ("Anchorage", "AK", "995", "907"),
    ("Pittsburgh", "PA", "152", "412"),
    ("Cincinnati", "OH", "452", "513"),
    ("St. Louis", "MO", "631", "314"),
    ("Orlando", "FL", "328", "407"),
    ("St. Paul", "MN", "551", "651"),
    ("Buffalo", "NY", "142", "716"),
    ("Greensboro", "NC", "274", "336"),
    ("Lincoln", "NE", "685", "402"),
    ("Fort Wayne", "IN", "468", "260"),
    ("Madison", "WI", "537", "608"),
    ("Reno", "NV", "895", "775"),
    ("Boise", "ID", "837", "208"),
    ("Richmond", "VA", "232", "804"),
    ("Spokane", "WA", "992", "509"),
    ("Tacoma", "WA", "984", "253"),
    ("Baton Rouge", "LA", "708", "225"),
    ("Des Moines", "IA", "503", "515"),
    ("Birmingham", "AL", "352", "205"),
    ("Rochester", "NY", "146", "585"),
    ("Grand Rapids", "MI", "495", "616"),
    ("Salt Lake City", "UT", "841", "801"),
    ("Providence", "RI", "029", "401"),
    ("Worcester", "MA", "016", "508"),
    ("Knoxville", "TN", "379", "865"),
    ("Little Rock", "AR", "722", "501"),
    ("Hartford", "CT", "061", "860"),
    ("New Haven", "CT", "065", "203"),
    ("Stamford", "CT", "069", "203"),
    ("Cambridge", "MA", "021", "617"),
    ("Springfield", "MA", "011", "413"),
    ("Springfield", "IL", "627", "217"),
    ("Trenton", "NJ", "086", "609"),
    ("Lexington", "KY", "405", "859"),
    ("Ann Arbor", "MI", "481", "734"),
    ("Albany", "NY", "122", "518"),
    ("Allentown", "PA", "181", "610"),
    ("Savannah", "GA", "314", "912"),
    ("Tallahassee", "FL", "323", "850"),
    ("Eugene", "OR", "974", "541"),
    ("Santa Fe", "NM", "875", "505"),
    ("Provo", "UT", "846", "801"),
    ("Naperville", "IL", "605", "630"),
    ("Montgomery", "AL", "361", "334"),
    ("Jackson", "MS", "392", "601"),
    ("Charleston", "SC", "294", "843"),
    ("Columbia", "SC", "292", "803"),
    ("Cedar Rapids", "IA", "524", "319"),
    ("Manchester", "NH", "031", "603"),
    ("Portland", "ME", "041", "207"),
    ("Burlington", "VT", "054", "802"),
    ("Fargo", "ND", "581", "701"),
    ("Sioux Falls", "SD", "571", "605"),
    ("Billings", "MT", "591", "406"),
    ("Cheyenne", "WY", "820", "307"),
    ("Wilmington", "DE", "198", "302"),
    ("Charleston", "WV", "253", "304"),
)

STREET_NAMES: tuple[str, ...] = _unique(
    """
    Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Sunset Lincoln Jackson Church
    River Highland Willow Meadow Forest Jefferson Madison Franklin Chestnut Spring Center Ridge
    Adams Mill Union Cherry Dogwood Hickory Laurel Magnolia Sycamore Birch Poplar Aspen Spruce
    Valley Lakeview Hillcrest Fairview Woodland Greenwood Orchard Prospect Broad Market Water
    High Front Bridge School North South East West First Second Third Fourth Fifth Sixth Seventh
    Eighth Ninth Tenth Riverside Heritage Meadowbrook College University Railroad Canyon Vista
    Harbor Bay Ocean Beach Sierra Mesa Colonial Liberty Independence Kings Queens Princeton
    Oxford Wilson Roosevelt Kennedy Grant Monroe Hamilton Peachtree Bluebonnet Cypress Palm
    Juniper Sage Primrose Rosewood Briarwood Foxglove Hawthorne Eagle Falcon Cardinal Robin
    Sparrow Bluebird Summit Pleasant Academy Garden Grove Railway Commerce Industrial Airport
    """
)
# Multi-word street names are kept separately because the list above splits on whitespace.
STREET_NAMES += ("Deer Run", "Quail Hollow", "Country Club", "Mountain View", "El Camino Real")

# (abbreviation, full word, weight), written abbreviation:word:weight.
STREET_SUFFIXES: tuple[tuple[str, str, float], ...] = tuple(
    (abbreviation, word, float(weight))
    for abbreviation, word, weight in (
        entry.split(":")
        for entry in (
            "St:Street:30 Ave:Avenue:18 Rd:Road:12 Dr:Drive:12 Ln:Lane:7 Blvd:Boulevard:5 "
            "Ct:Court:5 Pl:Place:3 Way:Way:3 Cir:Circle:2 Ter:Terrace:1.5 Pkwy:Parkway:1.5"
        ).split()
    )
)

# How people write the second address line.
UNIT_PREFIXES: tuple[str, ...] = ("Apt", "Apt.", "Unit", "#", "Ste", "Suite", "APT")

# (domain, weight): consumer mail providers with their rough US share.
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 38.0),
    ("yahoo.com", 12.0),
    ("hotmail.com", 8.0),
    ("outlook.com", 6.0),
    ("icloud.com", 6.0),
    ("aol.com", 4.0),
    ("comcast.net", 3.0),
    ("msn.com", 2.0),
    ("live.com", 2.0),
    ("att.net", 2.0),
    ("verizon.net", 1.5),
    ("sbcglobal.net", 1.5),
    ("me.com", 1.0),
    ("protonmail.com", 1.0),
    ("mail.com", 1.0),
    ("cox.net", 1.0),
    ("charter.net", 1.0),
    ("earthlink.net", 0.5),
    ("ymail.com", 0.5),
    ("gmx.com", 0.5),
)

# Placeholders that clerks and forms put in when the customer gives nothing.
JUNK_EMAILS: tuple[str, ...] = (
    "test@test.com",
    "none@none.com",
    "noreply@example.com",
    "N/A",
    "no@email.com",
)
JUNK_PHONES: tuple[str, ...] = ("0000000000", "555-555-5555", "N/A", "1111111111", "999-999-9999")


# --------------------------------------------------------------------------------------------
# The "realistic" profile's extra lists. The classic profile uses only the lists above, so
# adding here never changes its output.
# --------------------------------------------------------------------------------------------

# Given names written with diacritics, hyphens or apostrophes, or from outside the US top
# lists, as (name, gender). They sit in the rare part of the distribution.
INTERNATIONAL_GIVEN_NAMES: tuple[tuple[str, str], ...] = tuple(
    [
        (name, "M")
        for name in _unique(
            """
            José Jesús Ramón Andrés Martín Joaquín Iñaki Óscar Rubén Sebastián Tomás Nicolás
            Julián Héctor André François Jérôme Loïc Noël Jürgen Björn Søren Jørgen Åke Łukasz
            Paweł Michał Wojciech Krzysztof Grzegorz Jiří Tomáš Dušan Đorđe Mehmet Çağan Oğuz
            Seán Ciarán Pádraig Eoin Minh Quốc Thắng Jean-Luc Jean-Pierre Kwabena Oluwaseun
            Chukwuemeka Hyun-woo Ji-hoon D'Andre Rafał Zoltán Gábor
            """
        )
    ]
    + [
        (name, "F")
        for name in _unique(
            """
            María Sofía Lucía Inés Mónica Verónica Begoña Ángela Zoë Chloé Renée Noémie Hélène
            Agnès Anaïs Sigrún Åsa Małgorzata Agnieszka Katarzyna Bożena Żaneta Zuzana Tereza
            Siobhán Aoife Niamh Saoirse Ayşe Özlem Gül Thảo Ngọc Hương Anne-Marie Mary-Kate
            Marie-Claire Ji-yeon Adaeze Oluwakemi Désirée Mireille Ilse Dagný Paula Julia Carla
            D'Asia Ka'Mya
            """
        )
    ]
)

# Rare invented given names, as in the long tail of any customer base: head + tail syllables.
_GIVEN_HEADS = "Ja Ka Bra Jay Ky Ta Ry Da Ze Ca Tre De Ma Kei Lo Ro Tra Ke Ny Ja'".split()
_MALE_GIVEN_TAILS = "den son lin ron vin quan dell rick mir ton ric lan vion shawn".split()
_FEMALE_GIVEN_TAILS = "lyn lee ana ella ia isha ara ette elle ina ya nae riah lani".split()
INVENTED_GIVEN_NAMES: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys(
        [(head + tail, "M") for tail, head in itertools.product(_MALE_GIVEN_TAILS, _GIVEN_HEADS)]
        + [
            (head + tail, "F")
            for tail, head in itertools.product(_FEMALE_GIVEN_TAILS, _GIVEN_HEADS)
        ]
    )
)

# Given names that differ by a letter or two, or only in gender; twins are sometimes given
# such a pair. Both names of every pair are in GIVEN_NAMES or INTERNATIONAL_GIVEN_NAMES.
SIMILAR_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("Daniel", "Danielle"),
    ("Mary", "Maria"),
    ("Michael", "Michelle"),
    ("Eric", "Erica"),
    ("Christian", "Christina"),
    ("Patrick", "Patricia"),
    ("Joseph", "Josephine"),
    ("Brian", "Bryan"),
    ("Steven", "Stephen"),
    ("Mark", "Marc"),
    ("Philip", "Phillip"),
    ("Ann", "Anna"),
    ("Sara", "Sarah"),
    ("Kristen", "Kristin"),
    ("Caitlin", "Kaitlyn"),
    ("Alexander", "Alexis"),
    ("Victor", "Victoria"),
    ("Gabriel", "Gabriela"),
    ("Adrian", "Adriana"),
    ("Paul", "Paula"),
    ("Julian", "Julia"),
    ("Carl", "Carla"),
    ("Nathan", "Nathaniel"),
)

# Surnames with diacritics as (spelling, the ASCII spelling in the common list or ""). Where
# there is an ASCII spelling, some of its bearers write the name with the accents.
ACCENTED_SURNAMES: tuple[tuple[str, str], ...] = (
    ("García", "Garcia"),
    ("Rodríguez", "Rodriguez"),
    ("Martínez", "Martinez"),
    ("Hernández", "Hernandez"),
    ("López", "Lopez"),
    ("González", "Gonzalez"),
    ("Pérez", "Perez"),
    ("Sánchez", "Sanchez"),
    ("Ramírez", "Ramirez"),
    ("Gómez", "Gomez"),
    ("Díaz", "Diaz"),
    ("Muñoz", "Munoz"),
    ("Jiménez", "Jimenez"),
    ("Álvarez", "Alvarez"),
    ("Gutiérrez", "Gutierrez"),
    ("Fernández", "Fernandez"),
    ("Núñez", "Nunez"),
    ("Peña", "Pena"),
    ("Vásquez", "Vasquez"),
    ("Domínguez", "Dominguez"),
    ("Nguyễn", "Nguyen"),
    ("Trần", "Tran"),
    ("Lê", "Le"),
    ("Phạm", "Pham"),
    ("Huỳnh", "Huynh"),
    ("Müller", "Muller"),
    ("Schäfer", "Schafer"),
    ("Wójcik", "Wojcik"),
    ("Kamiński", "Kaminski"),
    ("Dąbrowski", "Dabrowski"),
    ("Zieliński", "Zielinski"),
    ("Szymański", "Szymanski"),
    ("Kozłowski", "Kozlowski"),
    ("Wiśniewski", ""),
    ("Woźniak", ""),
    ("Wróbel", ""),
    ("Król", ""),
    ("Jørgensen", ""),
    ("Søndergaard", ""),
    ("Østergaard", ""),
    ("Åberg", ""),
    ("Björk", ""),
    ("Ström", ""),
    ("Öztürk", ""),
    ("Yılmaz", ""),
    ("Çelik", ""),
    ("Doğan", ""),
    ("Şahin", ""),
    ("Dvořák", ""),
    ("Horváth", ""),
    ("Kovačević", ""),
    ("Jovanović", ""),
    ("Petrović", ""),
    ("Đorđević", ""),
    ("Ibáñez", ""),
    ("Köhler", ""),
    ("Krüger", ""),
    ("Groß", ""),
    ("Weiß", ""),
    ("Lefèvre", ""),
    ("Bélanger", ""),
    ("Côté", ""),
    ("Gagné", ""),
    ("Lévesque", ""),
    ("Thériault", ""),
    ("Mäkinen", ""),
    ("Häkkinen", ""),
    ("Ó Briain", ""),
)

# ASCII surnames with apostrophes, spaces or unusual capitals, which normalisation must survive.
PUNCTUATED_SURNAMES: tuple[str, ...] = (
    "O'Connell",
    "O'Sullivan",
    "O'Malley",
    "O'Hara",
    "D'Angelo",
    "D'Souza",
    "DiMaggio",
    "McAllister",
    "MacDonald",
    "MacKenzie",
    "De La Cruz",
    "Dela Rosa",
    "Van der Berg",
    "Van Dyke",
    "St. John",
    "Le Blanc",
    "Da Silva",
    "Dos Santos",
    "Del Toro",
    "Al-Sayed",
)

# Double-barrelled surnames.
HYPHENATED_SURNAMES: tuple[str, ...] = (
    "Smith-Jones",
    "Garcia-Lopez",
    "García-López",
    "Taylor-Brown",
    "Martínez-Rivera",
    "Lee-Chen",
    "Johnson-Williams",
    "Rodriguez-Perez",
    "Miller-Davis",
    "Hernández-Ortiz",
    "Jones-Evans",
    "Moore-Jackson",
    "White-Thompson",
    "Clark-Lewis",
    "Young-Allen",
    "Nguyen-Tran",
    "Kim-Park",
    "Scott-King",
    "Wright-Hill",
    "Adams-Baker",
    "Ruiz-Torres",
    "Cruz-Reyes",
    "Morales-Ortiz",
    "Ramos-Gomez",
    "Lewis-Robinson",
    "Bennett-Gray",
    "Hughes-Price",
    "Ross-Foster",
    "Bell-Coleman",
    "Fisher-Hayes",
)

# Syllables for the long tail of rare surnames: onset + vowel + middle + ending gives some
# 270,000 invented names (Braikerstein, Schouski), so that even at millions of persons many
# surnames are held by a handful of people. The generator builds them (see sample_data).
TAIL_SURNAME_ONSETS: tuple[str, ...] = tuple(
    "B Br C Ch Cr D Dr F Fr G Gr H J K Kr L M N P Pr R S Sch Sh St T Tr V W Z".split()
)
TAIL_SURNAME_VOWELS: tuple[str, ...] = tuple("a e i o u ai ei ou".split())
TAIL_SURNAME_MIDDLES: tuple[str, ...] = ("",) + tuple(
    "l r n m s t d k v b g lin ren dan mor ker ber tel ven sar kov hol".split()
)
TAIL_SURNAME_ENDINGS: tuple[str, ...] = tuple(
    """
    son sen man mann er ner ley ton ford berg stein ski sky ez es ov ova enko ic ich ini elli
    ato ado ard au eau ian yan oglu ovich ak ek ik am an en in on un ing ings well wood field
    by worth ridge more land
    """.split()
)

# Jr and Sr as written after a surname, in the generator's order of preference.
JUNIOR_SUFFIXES: tuple[str, ...] = (" Jr", " Jr.", ", Jr.", " JR")
SENIOR_SUFFIXES: tuple[str, ...] = (" Sr", " Sr.", ", Sr.", " SR")

# (domain, weight): employers' mail domains, for the work addresses some people give.
WORK_EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("acme-corp.com", 6.0),
    ("globex.com", 5.0),
    ("initech.com", 4.0),
    ("contoso.com", 4.0),
    ("fabrikam.com", 3.0),
    ("northwind-traders.com", 3.0),
    ("adventure-works.com", 2.0),
    ("tailspin-toys.com", 2.0),
    ("litware.com", 2.0),
    ("proseware.com", 1.5),
    ("wideworld-importers.com", 1.5),
    ("state-university.edu", 3.0),
    ("mercy-health.org", 2.0),
    ("county-schools.org", 2.0),
    ("first-national-bank.com", 1.5),
    ("city-transit.gov", 1.0),
)

# Birth dates that forms and clerks put in when the customer gives none, with weights.
PLACEHOLDER_BIRTH_DATES: tuple[tuple[str, float], ...] = (
    ("1900-01-01", 5.0),
    ("1970-01-01", 3.0),
    ("1901-01-01", 1.0),
    ("2000-01-01", 1.0),
    ("1950-01-01", 1.0),
)
