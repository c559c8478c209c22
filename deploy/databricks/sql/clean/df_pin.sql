-- df_pin: the cleaned pins (shared/reference/pinterest-data.md §4), built from df_pin_raw.
--
-- Rules, in order:
--   * Placeholders become NULL by exact match, each only in its own column:
--       title             'No Title Data Available'
--       description       'No description available Story format', 'No description available', 'Untitled', 'Art.'
--       poster_name       'User Info Error'
--       follower_count    'User Info Error' (and anything else that is not a count, see below)
--       tag_list          'N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e'
--       image_src         'Image src error.'
--     and an empty string becomes NULL in every text column.
--   * follower_count becomes INT: '437' -> 437, '26k'/'26K' -> 26000, '6M' -> 6000000 (a decimal mantissa such
--     as '1.5k' is accepted and rounded); any other text, or a value beyond INT, becomes NULL.
--   * save_location keeps the path only: 'Local save in /data/art' -> '/data/art'.
--   * `index` is renamed `ind`; `downloaded` is dropped.
--   * Re-sent events: exactly one row per `ind` survives. Re-sends carry the same content, so which copy wins
--     does not matter; should two copies of a key ever differ, the first in the order of the cleaned columns
--     below wins, so the result never depends on file order. Rows without `ind` (unparsable lines) are dropped.
--
-- Columns: ind, unique_id, title, description, follower_count, poster_name, tag_list, is_image_or_video,
--          image_src, save_location, category
CREATE OR REPLACE TEMP VIEW df_pin AS
WITH blanked AS (
  SELECT
    `index` AS ind,
    NULLIF(unique_id, '') AS unique_id,
    CASE WHEN title IN ('', 'No Title Data Available') THEN NULL ELSE title END AS title,
    CASE
      WHEN description IN ('', 'No description available Story format', 'No description available',
                           'Untitled', 'Art.') THEN NULL
      ELSE description
    END AS description,
    CASE
      WHEN trim(follower_count) RLIKE '^[0-9]+$' THEN try_cast(trim(follower_count) AS INT)
      WHEN trim(follower_count) RLIKE '^[0-9]+([.][0-9]+)?[kK]$' THEN
        try_cast(round(try_cast(substr(trim(follower_count), 1, length(trim(follower_count)) - 1)
                                AS DECIMAL(20, 6)) * 1000) AS INT)
      WHEN trim(follower_count) RLIKE '^[0-9]+([.][0-9]+)?M$' THEN
        try_cast(round(try_cast(substr(trim(follower_count), 1, length(trim(follower_count)) - 1)
                                AS DECIMAL(20, 6)) * 1000000) AS INT)
      ELSE NULL
    END AS follower_count,
    CASE WHEN poster_name IN ('', 'User Info Error') THEN NULL ELSE poster_name END AS poster_name,
    CASE WHEN tag_list IN ('', 'N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e') THEN NULL ELSE tag_list END AS tag_list,
    NULLIF(is_image_or_video, '') AS is_image_or_video,
    CASE WHEN image_src IN ('', 'Image src error.') THEN NULL ELSE image_src END AS image_src,
    NULLIF(regexp_replace(save_location, '^Local save in ', ''), '') AS save_location,
    NULLIF(category, '') AS category
  FROM df_pin_raw
  WHERE `index` IS NOT NULL
),
numbered AS (
  SELECT *,
    ROW_NUMBER() OVER (
      PARTITION BY ind
      ORDER BY unique_id NULLS LAST, title NULLS LAST, description NULLS LAST, follower_count NULLS LAST,
               poster_name NULLS LAST, tag_list NULLS LAST, is_image_or_video NULLS LAST,
               image_src NULLS LAST, save_location NULLS LAST, category NULLS LAST
    ) AS copy_number
  FROM blanked
)
SELECT ind, unique_id, title, description, follower_count, poster_name, tag_list, is_image_or_video,
       image_src, save_location, category
FROM numbered
WHERE copy_number = 1
