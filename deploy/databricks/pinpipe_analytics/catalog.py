"""Where the SQL lives and in which order it runs.

Cleaning statements create the views df_pin, df_geo, df_user from the raw views; shared statements create
helper views used by several questions; each question file is one query whose columns are listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATABRICKS_DIR = PACKAGE_DIR.parent
SQL_DIR = DATABRICKS_DIR / "sql"

#: Statements that build the cleaned views, in run order.
CLEANING = ("clean/df_pin.sql", "clean/df_geo.sql", "clean/df_user.sql")
#: Statements that build helper views the questions share.
SHARED = ("shared/user_age_group.sql",)


@dataclass(frozen=True)
class Question:
    """One analysis question of shared/reference/pinterest-data.md §5."""

    qid: str
    title: str
    sql_file: str
    columns: tuple[str, ...]

    @property
    def path(self) -> Path:
        return SQL_DIR / self.sql_file

    def sql(self) -> str:
        return read_sql(self.sql_file)


QUESTIONS = (
    Question("q1", "Most popular category per country", "questions/q1_category_by_country.sql",
             ("country", "category", "category_count")),
    Question("q2", "Most popular category per year, 2018-2022", "questions/q2_category_by_year.sql",
             ("post_year", "category", "category_count")),
    Question("q3a", "User with the most followers per country", "questions/q3a_top_poster_by_country.sql",
             ("country", "poster_name", "follower_count")),
    Question("q3b", "Country whose top user has the most followers", "questions/q3b_top_country.sql",
             ("country", "follower_count")),
    Question("q4", "Most popular category per age group", "questions/q4_category_by_age_group.sql",
             ("age_group", "category", "category_count")),
    Question("q5", "Median follower count per age group", "questions/q5_median_followers_by_age_group.sql",
             ("age_group", "median_follower_count")),
    Question("q6", "Users joined per year, 2015-2020", "questions/q6_users_joined_by_year.sql",
             ("post_year", "number_users_joined")),
    Question("q7", "Median follower count by joining year, 2015-2020",
             "questions/q7_median_followers_by_join_year.sql",
             ("post_year", "median_follower_count")),
    Question("q8", "Median follower count by age group and joining year, 2015-2020",
             "questions/q8_median_followers_by_age_group_and_join_year.sql",
             ("age_group", "post_year", "median_follower_count")),
)


def read_sql(relative: str) -> str:
    """The text of one SQL file under sql/, without trailing whitespace."""
    return (SQL_DIR / relative).read_text(encoding="utf-8").rstrip()


def question(qid: str) -> Question:
    for q in QUESTIONS:
        if q.qid == qid:
            return q
    raise KeyError(qid)
