CREATE UNLOGGED TABLE IF NOT EXISTS integration_rate_limit_counter (
    key varchar NOT NULL,
    period integer NOT NULL,
    buckets bigint[] NOT NULL,
    counts integer[] NOT NULL,
    expires_at double precision NOT NULL,
    PRIMARY KEY (key, period)
);
-- Every decision rewrites its windows: with no indexed column changed and
-- room left on the page (fillfactor), the new row version is a heap-only
-- tuple, which adds no index entry and is pruned on the page itself. An
-- index on expires_at, which changes at every call, would make every update
-- a cold one: the primary key's entries of one busy key then pile up (faster
-- than vacuum removes them while any transaction of the cluster runs long)
-- and every decision walks them. The clean-up reads the table instead.
DROP INDEX IF EXISTS integration_rate_limit_counter_expires_at_idx;
ALTER TABLE integration_rate_limit_counter SET (fillfactor = 50);
CREATE UNLOGGED TABLE IF NOT EXISTS integration_rate_limit_tally (
    name varchar NOT NULL,
    field varchar NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (name, field)
);
-- r_expires: when the newest call of the window leaves it (a column added
-- to the result, which CREATE OR REPLACE cannot change).
DROP FUNCTION IF EXISTS integration_rate_limit_decide(
    varchar, integer[], integer[], integer, boolean, double precision, varchar,
    integer);
CREATE OR REPLACE FUNCTION integration_rate_limit_decide(
    p_key varchar, p_quantities integer[], p_periods integer[], p_cost integer,
    p_consume boolean, p_now double precision, p_tally varchar, p_buckets integer
) RETURNS TABLE (
    r_allowed boolean, r_now double precision, r_current bigint,
    r_buckets bigint[], r_counts integer[], r_expires double precision
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_now double precision := coalesce(
        p_now, extract(epoch FROM clock_timestamp())::double precision);
    v_count integer := coalesce(array_length(p_periods, 1), 0);
    v_allowed boolean := true;
    v_current bigint[] := '{}';
    v_found boolean[] := '{}';
    -- When the newest call of each window leaves it (expires_at), or NULL.
    v_expires double precision[] := '{}';
    v_row_expires double precision;
    -- The live buckets of every window, one after the other; window i
    -- holds elements v_from[i] .. v_from[i + 1] - 1.
    v_from integer[] := '{}';
    v_all_buckets bigint[] := '{}';
    v_all_counts integer[] := '{}';
    v_row_buckets bigint[];
    v_row_counts integer[];
    v_buckets bigint[];
    v_counts integer[];
    v_width double precision;
    v_used bigint;
    v_slot integer;
BEGIN
    IF p_consume THEN
        PERFORM pg_advisory_xact_lock(1919250540, hashtext(p_key));
    END IF;
    FOR i IN 1 .. v_count LOOP
        v_width := p_periods[i]::double precision / p_buckets;
        v_current[i] := floor(v_now / v_width)::bigint;
        v_from[i] := coalesce(array_length(v_all_buckets, 1), 0) + 1;
        v_used := 0;
        SELECT w.buckets, w.counts, w.expires_at
          INTO v_row_buckets, v_row_counts, v_row_expires
          FROM integration_rate_limit_counter w
         WHERE w.key = p_key AND w.period = p_periods[i];
        v_found[i] := FOUND;
        v_expires[i] := NULL;
        IF FOUND AND v_row_expires <= v_now THEN
            -- every call has left the window
            v_row_buckets := '{}';
            v_row_counts := '{}';
        ELSIF FOUND THEN
            v_expires[i] := v_row_expires;
        END IF;
        FOR j IN 1 .. coalesce(array_length(v_row_buckets, 1), 0) LOOP
            IF v_row_buckets[j] >= v_current[i] - p_buckets THEN
                v_all_buckets := v_all_buckets || v_row_buckets[j];
                v_all_counts := v_all_counts || v_row_counts[j];
                v_used := v_used + v_row_counts[j];
            END IF;
        END LOOP;
        IF v_used + p_cost > p_quantities[i] THEN
            v_allowed := false;
        END IF;
    END LOOP;
    v_from[v_count + 1] := coalesce(array_length(v_all_buckets, 1), 0) + 1;
    FOR i IN 1 .. v_count LOOP
        v_buckets := v_all_buckets[v_from[i] : v_from[i + 1] - 1];
        v_counts := v_all_counts[v_from[i] : v_from[i + 1] - 1];
        r_allowed := v_allowed;
        r_now := v_now;
        r_current := v_current[i];
        r_buckets := v_buckets;
        r_counts := v_counts;
        r_expires := v_expires[i];
        RETURN NEXT;
        CONTINUE WHEN NOT (p_consume AND v_allowed);
        v_slot := array_position(v_buckets, v_current[i]);
        IF v_slot IS NULL THEN
            v_buckets := v_buckets || v_current[i];
            v_counts := v_counts || p_cost;
        ELSE
            v_counts[v_slot] := v_counts[v_slot] + p_cost;
        END IF;
        IF v_found[i] THEN
            UPDATE integration_rate_limit_counter
               SET buckets = v_buckets, counts = v_counts,
                   expires_at = greatest(v_expires[i], v_now + p_periods[i])
             WHERE key = p_key AND period = p_periods[i];
        END IF;
        -- New, or removed by the clean-up since it was read.
        IF NOT v_found[i] OR NOT FOUND THEN
            INSERT INTO integration_rate_limit_counter AS w
                   (key, period, buckets, counts, expires_at)
            VALUES (p_key, p_periods[i], v_buckets, v_counts,
                    greatest(v_expires[i], v_now + p_periods[i]))
            ON CONFLICT (key, period) DO UPDATE
               SET buckets = EXCLUDED.buckets, counts = EXCLUDED.counts,
                   expires_at = EXCLUDED.expires_at;
        END IF;
    END LOOP;
    IF p_consume AND p_tally IS NOT NULL THEN
        INSERT INTO integration_rate_limit_tally AS t (name, field, value)
        VALUES (p_tally, CASE WHEN v_allowed THEN 'allowed' ELSE 'refused' END, 1)
        ON CONFLICT (name, field) DO UPDATE SET value = t.value + EXCLUDED.value;
    END IF;
END
$$;
