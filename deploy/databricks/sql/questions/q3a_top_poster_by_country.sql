-- Q3a: the user with the most followers in each country.
-- Columns: country, poster_name, follower_count
--
-- User: the pin's poster, identified by poster_name (follower_count belongs to the poster). A poster with
--       several pins in one country is one user there, with the largest follower_count seen on those pins.
-- Join: INNER JOIN df_pin with df_geo on ind (the country comes from df_geo).
-- Nulls: pins without a country, a poster_name or a follower_count are left out.
-- Ties: every poster sharing a country's top follower_count is kept; rows ordered by country, then poster_name.
WITH per_poster AS (
  SELECT g.country, p.poster_name, MAX(p.follower_count) AS follower_count
  FROM df_pin AS p
  JOIN df_geo AS g ON p.ind = g.ind
  WHERE g.country IS NOT NULL AND p.poster_name IS NOT NULL AND p.follower_count IS NOT NULL
  GROUP BY g.country, p.poster_name
),
ranked AS (
  SELECT *, RANK() OVER (PARTITION BY country ORDER BY follower_count DESC) AS place
  FROM per_poster
)
SELECT country, poster_name, follower_count
FROM ranked
WHERE place = 1
ORDER BY country, poster_name
