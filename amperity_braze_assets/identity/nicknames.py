"""Nickname table: each nickname maps to the formal given name it abbreviates.

Matching compares the canonical form, so ``BOB`` and ``ROBERT`` agree exactly. A nickname that
belongs to several formal names (``ALEX``: Alexander, Alexandra) maps to one of them: that still
lets the two records agree, and gender or birthdate tell the people apart.
"""

from __future__ import annotations

# (nickname, formal name), upper case without accents, as normalized names are.
NICKNAME_PAIRS: tuple[tuple[str, str], ...] = (
    ("ABBY", "ABIGAIL"),
    ("ABE", "ABRAHAM"),
    ("AL", "ALBERT"),
    ("ALEX", "ALEXANDER"),
    ("ALEC", "ALEXANDER"),
    ("SANDY", "ALEXANDRA"),
    ("ALF", "ALFRED"),
    ("ALFIE", "ALFRED"),
    ("ANDY", "ANDREW"),
    ("DREW", "ANDREW"),
    ("ANGIE", "ANGELA"),
    ("ANNIE", "ANN"),
    ("ANNA", "ANN"),
    ("ANNE", "ANN"),
    ("NANCY", "ANN"),
    ("TONY", "ANTHONY"),
    ("ANTON", "ANTHONY"),
    ("ARCHIE", "ARCHIBALD"),
    ("ART", "ARTHUR"),
    ("BARB", "BARBARA"),
    ("BARBIE", "BARBARA"),
    ("BEN", "BENJAMIN"),
    ("BENNY", "BENJAMIN"),
    ("BENJI", "BENJAMIN"),
    ("BERNIE", "BERNARD"),
    ("BETTY", "ELIZABETH"),
    ("BETH", "ELIZABETH"),
    ("BETSY", "ELIZABETH"),
    ("LIZ", "ELIZABETH"),
    ("LIZZIE", "ELIZABETH"),
    ("LIZZY", "ELIZABETH"),
    ("ELIZA", "ELIZABETH"),
    ("LISA", "ELIZABETH"),
    ("ELISE", "ELIZABETH"),
    ("BRAD", "BRADLEY"),
    ("CAL", "CALVIN"),
    ("CARRIE", "CAROLINE"),
    ("CAROL", "CAROLINE"),
    ("CATHY", "CATHERINE"),
    ("CATHERINE", "KATHERINE"),
    ("KATHRYN", "KATHERINE"),
    ("KATHLEEN", "KATHERINE"),
    ("KATE", "KATHERINE"),
    ("KATIE", "KATHERINE"),
    ("KATY", "KATHERINE"),
    ("KATHY", "KATHERINE"),
    ("KAT", "KATHERINE"),
    ("KITTY", "KATHERINE"),
    ("CHARLIE", "CHARLES"),
    ("CHUCK", "CHARLES"),
    ("CHAS", "CHARLES"),
    ("CHRIS", "CHRISTOPHER"),
    ("KRIS", "CHRISTOPHER"),
    ("TOPHER", "CHRISTOPHER"),
    ("CHRISSY", "CHRISTINE"),
    ("CHRISTY", "CHRISTINE"),
    ("CHRISTINA", "CHRISTINE"),
    ("TINA", "CHRISTINE"),
    ("CINDY", "CYNTHIA"),
    ("CLIFF", "CLIFFORD"),
    ("CONNIE", "CONSTANCE"),
    ("DAN", "DANIEL"),
    ("DANNY", "DANIEL"),
    ("DAVE", "DAVID"),
    ("DAVEY", "DAVID"),
    ("DEB", "DEBORAH"),
    ("DEBBIE", "DEBORAH"),
    ("DEBRA", "DEBORAH"),
    ("DENNY", "DENNIS"),
    ("DICK", "RICHARD"),
    ("RICH", "RICHARD"),
    ("RICK", "RICHARD"),
    ("RICKY", "RICHARD"),
    ("RICHIE", "RICHARD"),
    ("DON", "DONALD"),
    ("DONNIE", "DONALD"),
    ("DOROTHY", "DOROTHEA"),
    ("DOT", "DOROTHEA"),
    ("DOTTIE", "DOROTHEA"),
    ("DOUG", "DOUGLAS"),
    ("ED", "EDWARD"),
    ("EDDIE", "EDWARD"),
    ("EDDY", "EDWARD"),
    ("NED", "EDWARD"),
    ("TED", "EDWARD"),
    ("TEDDY", "EDWARD"),
    ("ELLIE", "ELEANOR"),
    ("NELL", "ELEANOR"),
    ("NELLIE", "ELEANOR"),
    ("EMMY", "EMILY"),
    ("EM", "EMILY"),
    ("FRAN", "FRANCES"),
    ("FRANNIE", "FRANCES"),
    ("FRANK", "FRANCIS"),
    ("FRANKIE", "FRANCIS"),
    ("FRED", "FREDERICK"),
    ("FREDDIE", "FREDERICK"),
    ("FREDDY", "FREDERICK"),
    ("GABE", "GABRIEL"),
    ("GENE", "EUGENE"),
    ("GEOFF", "GEOFFREY"),
    ("JEFF", "JEFFREY"),
    ("GERRY", "GERALD"),
    ("JERRY", "GERALD"),
    ("GREG", "GREGORY"),
    ("HAL", "HENRY"),
    ("HANK", "HENRY"),
    ("HARRY", "HENRY"),
    ("HATTIE", "HARRIET"),
    ("HERB", "HERBERT"),
    ("IKE", "ISAAC"),
    ("IZZY", "ISABEL"),
    ("BELLA", "ISABEL"),
    ("ISABELLA", "ISABEL"),
    ("ISABELLE", "ISABEL"),
    ("JAKE", "JACOB"),
    ("JACK", "JOHN"),
    ("JOHNNY", "JOHN"),
    ("JON", "JOHN"),
    ("JIM", "JAMES"),
    ("JIMMY", "JAMES"),
    ("JAMIE", "JAMES"),
    ("JAN", "JANET"),
    ("JEN", "JENNIFER"),
    ("JENN", "JENNIFER"),
    ("JENNY", "JENNIFER"),
    ("JENNI", "JENNIFER"),
    ("JESS", "JESSICA"),
    ("JESSIE", "JESSICA"),
    ("JOE", "JOSEPH"),
    ("JOEY", "JOSEPH"),
    ("JOSH", "JOSHUA"),
    ("JUDY", "JUDITH"),
    ("JULIE", "JULIA"),
    ("KEN", "KENNETH"),
    ("KENNY", "KENNETH"),
    ("KIM", "KIMBERLY"),
    ("KIMBERLEY", "KIMBERLY"),
    ("LARRY", "LAWRENCE"),
    ("LAURIE", "LAURA"),
    ("LEN", "LEONARD"),
    ("LENNY", "LEONARD"),
    ("LEO", "LEONARD"),
    ("LOU", "LOUIS"),
    ("LOUIE", "LOUIS"),
    ("LUKE", "LUCAS"),
    ("MAGGIE", "MARGARET"),
    ("MEG", "MARGARET"),
    ("PEGGY", "MARGARET"),
    ("MARGE", "MARGARET"),
    ("MARGIE", "MARGARET"),
    ("GRETA", "MARGARET"),
    ("MANDY", "AMANDA"),
    ("MANNY", "EMMANUEL"),
    ("MARTY", "MARTIN"),
    ("MATT", "MATTHEW"),
    ("MATTY", "MATTHEW"),
    ("MEL", "MELISSA"),
    ("MISSY", "MELISSA"),
    ("MIKE", "MICHAEL"),
    ("MIKEY", "MICHAEL"),
    ("MICKEY", "MICHAEL"),
    ("MITCH", "MITCHELL"),
    ("MOLLY", "MARY"),
    ("POLLY", "MARY"),
    ("MAMIE", "MARY"),
    ("NATE", "NATHAN"),
    ("NATHANIEL", "NATHAN"),
    ("NAT", "NATHAN"),
    ("NICK", "NICHOLAS"),
    ("NICKY", "NICHOLAS"),
    ("NIKKI", "NICOLE"),
    ("OLLIE", "OLIVER"),
    ("PAM", "PAMELA"),
    ("PAT", "PATRICK"),
    ("PADDY", "PATRICK"),
    ("PATTY", "PATRICIA"),
    ("PATSY", "PATRICIA"),
    ("TRISH", "PATRICIA"),
    ("TRICIA", "PATRICIA"),
    ("PETE", "PETER"),
    ("PHIL", "PHILIP"),
    ("PHILLIP", "PHILIP"),
    ("RAY", "RAYMOND"),
    ("REG", "REGINALD"),
    ("REGGIE", "REGINALD"),
    ("BOB", "ROBERT"),
    ("BOBBY", "ROBERT"),
    ("BOBBIE", "ROBERT"),
    ("ROB", "ROBERT"),
    ("ROBBIE", "ROBERT"),
    ("BERT", "ROBERT"),
    ("RON", "RONALD"),
    ("RONNIE", "RONALD"),
    ("ROSIE", "ROSE"),
    ("ROSA", "ROSE"),
    ("RUDY", "RUDOLPH"),
    ("RUSS", "RUSSELL"),
    ("SAL", "SALVATORE"),
    ("SAM", "SAMUEL"),
    ("SAMMY", "SAMUEL"),
    ("SANDRA", "ALEXANDRA"),
    ("SARA", "SARAH"),
    ("SALLY", "SARAH"),
    ("SADIE", "SARAH"),
    ("STAN", "STANLEY"),
    ("STEVE", "STEVEN"),
    ("STEVIE", "STEVEN"),
    ("STEPHEN", "STEVEN"),
    ("STEPH", "STEPHANIE"),
    ("SUE", "SUSAN"),
    ("SUSIE", "SUSAN"),
    ("SUZY", "SUSAN"),
    ("SUZANNE", "SUSAN"),
    ("TERRY", "TERENCE"),
    ("THEO", "THEODORE"),
    ("TOM", "THOMAS"),
    ("TOMMY", "THOMAS"),
    ("TIM", "TIMOTHY"),
    ("TIMMY", "TIMOTHY"),
    ("TONI", "ANTONIA"),
    ("VAL", "VALERIE"),
    ("VICKY", "VICTORIA"),
    ("VICKI", "VICTORIA"),
    ("TORI", "VICTORIA"),
    ("VINCE", "VINCENT"),
    ("VINNY", "VINCENT"),
    ("WALLY", "WALTER"),
    ("WALT", "WALTER"),
    ("BILL", "WILLIAM"),
    ("BILLY", "WILLIAM"),
    ("WILL", "WILLIAM"),
    ("WILLIE", "WILLIAM"),
    ("LIAM", "WILLIAM"),
    ("ZACH", "ZACHARY"),
    ("ZACK", "ZACHARY"),
)


def _canonical_map() -> dict[str, str]:
    """Follow chains (KATHY -> KATHERINE, CATHERINE -> KATHERINE) to one canonical name."""
    direct = dict(NICKNAME_PAIRS)
    resolved: dict[str, str] = {}
    for nickname in direct:
        name = nickname
        seen = {name}
        while name in direct and direct[name] not in seen:
            name = direct[name]
            seen.add(name)
        resolved[nickname] = name
    return resolved


# Nickname -> canonical given name, chains already followed.
CANONICAL_GIVEN_NAME: dict[str, str] = _canonical_map()


# Nicknames of other languages a North American or European customer base uses (upper case, no
# accents), which the English data set lacks: (nickname, formal name).
WORLD_NICKNAMES: tuple[tuple[str, str], ...] = (
    # Spanish and Portuguese
    ("PEPE", "JOSE"), ("CHEPE", "JOSE"), ("ZE", "JOSE"), ("CHEMA", "JOSE MARIA"),
    ("CHUY", "JESUS"), ("CHUCHO", "JESUS"), ("PACO", "FRANCISCO"), ("PANCHO", "FRANCISCO"),
    ("CHICO", "FRANCISCO"), ("CURRO", "FRANCISCO"), ("NACHO", "IGNACIO"), ("MEMO", "GUILLERMO"),
    ("LALO", "EDUARDO"), ("BETO", "ALBERTO"), ("BETO", "ROBERTO"), ("TONO", "ANTONIO"),
    ("TONI", "ANTONIO"), ("QUIQUE", "ENRIQUE"), ("KIKE", "ENRIQUE"), ("RAFA", "RAFAEL"),
    ("FITO", "ADOLFO"), ("GOYO", "GREGORIO"), ("LUCHO", "LUIS"), ("POLO", "LEOPOLDO"),
    ("CHALO", "GONZALO"), ("CHAVA", "SALVADOR"), ("CHAVO", "SALVADOR"), ("NANDO", "FERNANDO"),
    ("LUPE", "GUADALUPE"), ("LUPITA", "GUADALUPE"), ("LOLA", "DOLORES"), ("CHARO", "ROSARIO"),
    ("CONCHA", "CONCEPCION"), ("CONCHITA", "CONCEPCION"), ("MAITE", "MARIA TERESA"),
    ("MARU", "MARIA EUGENIA"), ("PILI", "PILAR"), ("CHELO", "CONSUELO"), ("CHAYO", "ROSARIO"),
    ("NENA", "MAGDALENA"), ("PAQUITA", "FRANCISCA"), ("PEPA", "JOSEFA"), ("PEPITA", "JOSEFA"),
    ("MERCHE", "MERCEDES"), ("MECHE", "MERCEDES"), ("INMA", "INMACULADA"), ("MARISOL", "MARIA SOLEDAD"),
    # Russian and Ukrainian
    ("SASHA", "ALEXANDER"), ("SASHA", "ALEXANDRA"), ("SASHA", "ALEKSANDR"), ("SASHA", "ALEKSANDRA"),
    ("SHURA", "ALEXANDER"), ("DIMA", "DMITRI"), ("DIMA", "DMITRY"), ("DIMA", "DMITRIY"),
    ("MITYA", "DMITRI"), ("MISHA", "MIKHAIL"), ("MISHA", "MICHAEL"), ("KOLYA", "NIKOLAI"),
    ("KOLYA", "NIKOLAY"), ("VOLODYA", "VLADIMIR"), ("VOVA", "VLADIMIR"), ("SEREZHA", "SERGEI"),
    ("SERYOZHA", "SERGEI"), ("SEREZHA", "SERGEY"), ("LYOSHA", "ALEXEI"), ("ALYOSHA", "ALEXEI"),
    ("LYOSHA", "ALEKSEY"), ("VANYA", "IVAN"), ("PETYA", "PYOTR"), ("PETYA", "PETR"),
    ("PASHA", "PAVEL"), ("GRISHA", "GRIGORY"), ("BORYA", "BORIS"), ("YURA", "YURI"),
    ("YURA", "YURIY"), ("ZHENYA", "EVGENY"), ("ZHENYA", "EVGENIA"), ("ZHENYA", "YEVGENIY"),
    ("SLAVA", "VYACHESLAV"), ("SLAVA", "STANISLAV"), ("TOLYA", "ANATOLY"), ("KOSTYA", "KONSTANTIN"),
    ("VITYA", "VIKTOR"), ("ANDRYUSHA", "ANDREI"), ("LYONYA", "LEONID"), ("NATASHA", "NATALIA"),
    ("NATASHA", "NATALYA"), ("KATYA", "EKATERINA"), ("KATYA", "YEKATERINA"), ("MASHA", "MARIA"),
    ("MASHA", "MARIYA"), ("LENA", "ELENA"), ("LENA", "YELENA"), ("TANYA", "TATIANA"),
    ("TANYA", "TATYANA"), ("OLYA", "OLGA"), ("ANYA", "ANNA"), ("SVETA", "SVETLANA"),
    ("NADYA", "NADEZHDA"), ("GALYA", "GALINA"), ("LYUDA", "LYUDMILA"), ("MILA", "LYUDMILA"),
    ("IRA", "IRINA"), ("YULYA", "YULIA"), ("DASHA", "DARIA"), ("DASHA", "DARYA"),
    ("NASTYA", "ANASTASIA"), ("NASTYA", "ANASTASIYA"), ("KSYUSHA", "KSENIA"),     ("LARA", "LARISA"), ("TOMA", "TAMARA"), ("VALYA", "VALENTINA"), ("ZOYA", "ZOYA"),
    # Polish
    ("KASIA", "KATARZYNA"), ("GOSIA", "MALGORZATA"), ("MALGOSIA", "MALGORZATA"), ("BASIA", "BARBARA"),
    ("OLA", "ALEKSANDRA"), ("ASIA", "JOANNA"), ("ANIA", "ANNA"), ("MAGDA", "MAGDALENA"),
    ("MARYSIA", "MARIA"), ("ZOSIA", "ZOFIA"), ("GRAZYNKA", "GRAZYNA"), ("EWKA", "EWA"),
    ("AGA", "AGNIESZKA"), ("KRYSIA", "KRYSTYNA"), ("DOROTKA", "DOROTA"), ("ELA", "ELZBIETA"),
    ("TOMEK", "TOMASZ"), ("KUBA", "JAKUB"), ("STAS", "STANISLAW"), ("STASZEK", "STANISLAW"),
    ("WOJTEK", "WOJCIECH"), ("BARTEK", "BARTLOMIEJ"), ("JUREK", "JERZY"), ("FRANEK", "FRANCISZEK"),
    ("KRZYS", "KRZYSZTOF"), ("KRZYSIEK", "KRZYSZTOF"), ("PIOTREK", "PIOTR"), ("MICHALEK", "MICHAL"),
    ("ZBYSZEK", "ZBIGNIEW"), ("MIETEK", "MIECZYSLAW"), ("JANEK", "JAN"), ("ANTEK", "ANTONI"),
    ("ROMEK", "ROMAN"), ("LUKASZEK", "LUKASZ"), ("MACIEK", "MACIEJ"), ("MAREK", "MAREK"),
    # Italian
    ("BEPPE", "GIUSEPPE"), ("PEPPE", "GIUSEPPE"), ("PINO", "GIUSEPPE"), ("PEPPINO", "GIUSEPPE"),
    ("GIANNI", "GIOVANNI"), ("NINO", "ANTONINO"), ("NINO", "GIOVANNI"), ("SANDRO", "ALESSANDRO"),
    ("ALE", "ALESSANDRO"), ("ENZO", "VINCENZO"), ("TONINO", "ANTONIO"), ("LELE", "GABRIELE"),
    ("GIGI", "LUIGI"), ("MIMMO", "DOMENICO"), ("TOTO", "SALVATORE"), ("TURI", "SALVATORE"),
    ("CICCIO", "FRANCESCO"), ("MAURI", "MAURIZIO"), ("BICE", "BEATRICE"),
    ("PINA", "GIUSEPPINA"), ("GIUSY", "GIUSEPPINA"), ("FRANCI", "FRANCESCA"), ("VALE", "VALENTINA"),
    ("ROBY", "ROBERTO"),
    # French
    ("MANU", "EMMANUEL"), ("MANU", "EMMANUELLE"), ("NICO", "NICOLAS"), ("SEB", "SEBASTIEN"),
    ("STEPH", "STEPHANE"), ("STEPH", "STEPHANIE"), ("ISA", "ISABELLE"), ("VAL", "VALERIE"),
    ("DOMI", "DOMINIQUE"), ("JEANNOT", "JEAN"), ("JOJO", "JOSEPH"), ("JOJO", "JOSEPHINE"),
    ("GUIGUI", "GUILLAUME"), ("FANFAN", "FRANCOISE"), ("FLO", "FLORENCE"), ("FLO", "FLORIAN"),
    ("CAMI", "CAMILLE"), ("JB", "JEAN BAPTISTE"),     # German and Dutch
    ("SEPP", "JOSEF"), ("JUPP", "JOSEF"), ("HANSI", "HANS"), ("UWE", "UWE"),
    ("ULI", "ULRICH"), ("GABI", "GABRIELE"), ("STEFFI", "STEFANIE"), ("BASTI", "SEBASTIAN"),
    ("ANDI", "ANDREAS"), ("FRITZ", "FRIEDRICH"), ("HEINZ", "HEINRICH"), ("KLAUS", "NIKOLAUS"),
    ("RESI", "THERESIA"), ("LIESL", "ELISABETH"), ("GRETE", "MARGARETE"), ("GRETCHEN", "MARGARETE"),
    ("JOOP", "JOHANNES"), ("KEES", "CORNELIS"), ("PIET", "PIETER"),
    ("KLAAS", "NICOLAAS"), ("HENK", "HENDRIK"), ("JOKE", "JOHANNA"), ("TRUUS", "GEERTRUIDA"),
    ("RIA", "MARIA"), ("MIEKE", "MARIA"), ("WIM", "WILLEM"), ("GERT", "GERARDUS"),
    # Scandinavian and others
    ("LASSE", "LARS"), ("NISSE", "NILS"), ("KALLE", "KARL"), ("PELLE", "PER"),     ("BIRGIT", "BIRGITTA"), ("STINA", "KRISTINA"), ("KIKI", "KRISTINA"),
    ("SOREN", "SOREN"), ("PADDY", "PATRICK"),
    ("TERRI", "THERESA"), ("TERRI", "TERESA"), ("TESS", "THERESA"), ("BET", "ELIZABETH"),
    ("MANOLO", "MANUEL"), ("MANU", "MANUEL"), ("MAGGI", "MARGARET"), ("MICK", "MICHAEL"),
    # One name, many spellings
    ("MOHAMED", "MUHAMMAD"), ("MOHAMMED", "MUHAMMAD"), ("MOHAMMAD", "MUHAMMAD"),
    ("MOHAMAD", "MUHAMMAD"), ("MUHAMED", "MUHAMMAD"), ("MOHAMMAD", "MUHAMMED"),
    ("SARA", "SARAH"), ("HANNA", "HANNAH"), ("JON", "JOHN"), ("STEVEN", "STEPHEN"),
    ("JONATHON", "JONATHAN"), ("JEFFERY", "JEFFREY"), ("CATHERINE", "KATHERINE"),
    ("KATHRYN", "KATHERINE"), ("CATHERINE", "CATHARINE"), ("ALLISON", "ALISON"),
    ("ANN", "ANNE"), ("PHILLIP", "PHILIP"), ("BRIAN", "BRYAN"), ("SEAN", "SHAWN"),
    ("SHAWN", "SHAUN"), ("ERIC", "ERIK"), ("CARL", "KARL"), ("MARC", "MARK"),
    ("NICHOLAS", "NICOLAS"), ("ISABEL", "ISABELLE"), ("ISABELLA", "ISABELLE"),
    ("GEOFFREY", "JEFFREY"), ("ELISABETH", "ELIZABETH"), ("SOFIA", "SOPHIA"),
)  # fmt: skip


def _formal_names() -> dict[str, frozenset[str]]:
    """Each known name (upper case) -> the formal names it may stand for, itself included.

    Our table above, plus the ``nicknames`` package's hand-curated English name relations
    (TEDDY: EDWARD or THEODORE; BECKY: REBECCA; PEGGY: MARGARET), where one nickname may belong
    to several formal names. A formal name stands for itself only: ALEXANDER and ALEXANDRA stay
    two names, while ALEX agrees with both.
    """
    from nicknames import NickNamer

    formal: dict[str, set[str]] = {}
    for nickname, name in NICKNAME_PAIRS:
        formal.setdefault(nickname, {nickname}).add(CANONICAL_GIVEN_NAME.get(name, name))
        formal.setdefault(name, {name})
    for nickname, name in WORLD_NICKNAMES:
        formal.setdefault(nickname, {nickname}).add(name)
        formal.setdefault(name, {name})
    # The data set lists some relations both ways (ROBERT has BILL, BILL has ROBERT): of such
    # a pair the longer name is the formal one, so that ROBERT and WILLIAM, both formal names
    # BILL may stand for, do not become each other's nicknames through it.
    relations = {
        (name.upper(), nickname.upper())
        for name, nicknames in NickNamer().nickname_lookup.items()
        for nickname in nicknames
    }
    for name, nickname in relations:
        if (nickname, name) in relations and (len(nickname), nickname) > (len(name), name):
            continue
        formal.setdefault(name, {name})
        formal.setdefault(nickname, {nickname}).add(name)
    return {name: frozenset(names) for name, names in formal.items()}


# Name -> the formal names it may stand for (itself included).
FORMAL_NAMES: dict[str, frozenset[str]] = _formal_names()
