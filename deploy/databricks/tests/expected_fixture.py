"""The answers the hand-written fixture (tests/fixture/topics, prefix 'fx') must give, worked out by hand.

Fixture events (ind: category, poster, follower_count text; country, geo year; user, age, join year):
   0: art,    Alice, '10k'             ; Albania 2018-01-01 00:00:00 ; Ann Lee 24, 2015
   1: art,    Bob,   '2M'  (sent twice); Albania 2019                ; Ben Roe 25, 2016
   2: beauty, Carl,  '437'             ; Albania 2019                ; Cat Poe 35, 2016 (user sent twice)
   3: beauty, Dana,  '1k'              ; Albania 2022-12-31 23:59:59 ; Dan Fox 36, 2017
   4: travel, 'User Info Error' x2     ; Belgium 2017-12-31 23:59:59 ; Eve Kim 50, 2014-12-31 23:59:59
   5: travel, Eli,   '0'               ; Belgium 2023-01-01 00:00:00 ; Fay Wu 51, 2021-01-01 00:00:00
   6: travel, Fred,  '5M' (3 times)    ; Belgium 2020 (geo twice)    ; Gil Orr 51, 2020-12-31 23:59:59
   7: travel, Gia,   '5M'              ; Belgium 2020                ; Ann Lee 24, 2015 (same person as 0)
   8: quotes, Hal,   '26k'             ; Chad 2021 (its only post)   ; Hu Ng 17, 2015
   9: '' ,    Ivy,   '7k'              ; Belgium 2021                ; Ida May 50, 2017
  10: art,    Alice, '12k'             ; Belgium 2018 (space form)   ; Jo Ray 24, 2018
  11: '' ,    Bob,   '2M'              ; Albania 2016                ; Kim Sun (no age), 2019
  12: (no pin)                         ; '' country, no latitude     ; '' + Solo 30, 2016
"""

EXPECTED = {
    # Albania: art {0,1} = beauty {2,3} = 2 -> tie kept; Belgium: travel {4,5,6,7} = 4 (6 re-sent, counted
    # once); Chad: one post.
    "q1": [("Albania", "art", 2), ("Albania", "beauty", 2), ("Belgium", "travel", 4), ("Chad", "quotes", 1)],
    # 2017-12-31 23:59:59 (4) and 2023-01-01 (5) are outside; 2019 is a tie; 9 has no category.
    "q2": [(2018, "art", 2), (2019, "art", 1), (2019, "beauty", 1), (2020, "travel", 2), (2021, "quotes", 1),
           (2022, "beauty", 1)],
    # Bob has two pins in Albania (1 and 11): one row. Fred and Gia tie in Belgium.
    "q3a": [("Albania", "Bob", 2000000), ("Belgium", "Fred", 5000000), ("Belgium", "Gia", 5000000),
            ("Chad", "Hal", 26000)],
    # Belgium once, although two of its posters tie.
    "q3b": [("Belgium", 5000000)],
    # 18-24 {0 art, 7 travel, 10 art}; 25-35 {1 art, 2 beauty}; 36-50 {3 beauty, 4 travel, 9 no category};
    # +50 {5 travel, 6 travel}; 8 (age 17) and 11 (no age) have no group.
    "q4": [("18-24", "art", 2), ("25-35", "art", 1), ("25-35", "beauty", 1), ("36-50", "beauty", 1),
           ("36-50", "travel", 1), ("+50", "travel", 2)],
    # Lower medians: 18-24 {10000, 12000, 5000000} -> 12000; 25-35 {437, 2000000} -> 437;
    # 36-50 {1000, 7000} (4 has no count) -> 1000; +50 {0, 5000000} -> 0.
    "q5": [("18-24", 12000), ("25-35", 437), ("36-50", 1000), ("+50", 0)],
    # Distinct persons: 2015 {Ann Lee, Hu Ng}; 2016 {Ben Roe, Cat Poe, Solo}; 2017 {Dan Fox, Ida May};
    # 2018 {Jo Ray}; 2019 {Kim Sun}; 2020 {Gil Orr}; 2014-12-31 and 2021-01-01 are outside.
    "q6": [(2015, 2), (2016, 3), (2017, 2), (2018, 1), (2019, 1), (2020, 1)],
    # 2015 {10000, 26000, 5000000} -> 26000; 2016 {437, 2000000} -> 437; 2017 {1000, 7000} -> 1000;
    # 2018 {12000}; 2019 {2000000}; 2020 {5000000}; 5 (2021) is outside.
    "q7": [(2015, 26000), (2016, 437), (2017, 1000), (2018, 12000), (2019, 2000000), (2020, 5000000)],
    "q8": [("18-24", 2015, 10000), ("18-24", 2018, 12000), ("25-35", 2016, 437), ("36-50", 2017, 1000),
           ("+50", 2020, 5000000)],
}

PLACEHOLDERS = {
    "title": ["No Title Data Available"],
    "description": ["No description available Story format", "No description available", "Untitled", "Art."],
    "poster_name": ["User Info Error"],
    "follower_count": ["User Info Error"],
    "tag_list": ["N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"],
    "image_src": ["Image src error."],
}

#: The required cleaned schemas (shared/reference/pinterest-data.md §4), as Spark simpleString types.
CLEAN_SCHEMAS = {
    "df_pin": [("ind", "bigint"), ("unique_id", "string"), ("title", "string"), ("description", "string"),
               ("follower_count", "int"), ("poster_name", "string"), ("tag_list", "string"),
               ("is_image_or_video", "string"), ("image_src", "string"), ("save_location", "string"),
               ("category", "string")],
    "df_geo": [("ind", "bigint"), ("country", "string"), ("coordinates", "array<double>"),
               ("timestamp", "timestamp")],
    "df_user": [("ind", "bigint"), ("user_name", "string"), ("age", "int"), ("date_joined", "timestamp")],
}
