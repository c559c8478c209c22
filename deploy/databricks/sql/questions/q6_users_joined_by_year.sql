-- Q6: how many users joined in each year from 2015 to 2020.
-- Columns: post_year, number_users_joined
--
-- User: one person = one distinct (user_name, age, date_joined). The same person appears under several
--       keys in user_data; they are counted once. (Re-sent events were already collapsed in df_user.)
-- Year: the calendar year of date_joined; inclusive range 2015-01-01 00:00:00 up to 2020-12-31 23:59:59.
--       Years in which nobody joined produce no row.
-- Join: none (df_user alone).
-- Nulls: users without date_joined are left out; a missing name or age is just part of the identity.
-- Order: post_year.
WITH persons AS (
  SELECT DISTINCT user_name, age, date_joined
  FROM df_user
  WHERE date_joined IS NOT NULL
)
SELECT year(date_joined) AS post_year, COUNT(*) AS number_users_joined
FROM persons
WHERE year(date_joined) BETWEEN 2015 AND 2020
GROUP BY year(date_joined)
ORDER BY post_year
