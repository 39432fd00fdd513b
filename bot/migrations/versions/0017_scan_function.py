"""membership: the credited bottle-code scan as one PostgreSQL function (one round trip)

Revision ID: 0017
Revises: 0006
Create Date: 2026-12-06

Issue 17 (the scan path in fewer round trips). ``jiubot_scan_credit`` does, in the caller's
transaction, what ``bot/membership/scanning.py`` does statement by statement on SQLite: lock the
live member row (following merges), refuse a code already redeemed, a suspended or unconfirmed
member, a voided or unshipped code, a full daily or monthly cap or an open fraud flag, then
claim the code (``INSERT ... ON CONFLICT (batch_id, serial) DO NOTHING``), post the consumer's
points (ledger row unique on its source, conditional balance update) and answer what the rare
follow-ups need (referral pending, store code, the member's OA location, this year's earnings,
pattern-window counts). Those follow-ups stay in Python, in the same transaction, and only run
when they apply. SQLite has no such function: it keeps the statement-by-statement path.

The order of the checks and their answers are the Python path's; the tests run both backends.
"""

from alembic import op

revision = "0017"
down_revision = "0006"
branch_labels = None
depends_on = None

_FUNCTION = r"""
CREATE OR REPLACE FUNCTION jiubot_scan_credit(
    p_member_id bigint, p_tenant_id bigint, p_batch_id bigint, p_serial integer,
    p_region_code text, p_location_since timestamptz,
    p_require_age boolean, p_require_activation boolean,
    p_day timestamptz, p_month timestamptz, p_pattern_since timestamptz,
    p_daily_cap integer, p_monthly_cap integer, p_check_flags boolean,
    p_points bigint, p_store_reward integer, p_channel text, p_now timestamptz,
    p_province text, p_city text, p_place_source text,
    p_latitude double precision, p_longitude double precision, p_ip text,
    p_source_id text, p_note text, p_year_since timestamptz, p_count_scans boolean,
    p_fast boolean, p_place_fixed boolean, p_tier_codes text[], p_tier_thresholds bigint[],
    p_max_batches integer, p_max_regions integer,
    OUT outcome text, OUT member_id bigint, OUT tier text,
    OUT latitude double precision, OUT longitude double precision, OUT pending_referral boolean,
    OUT store_code text, OUT distributor_code text, OUT cap_count bigint,
    OUT n_batches bigint, OUT n_regions bigint, OUT has_batch boolean, OUT has_region boolean,
    OUT redemption_id bigint, OUT account_id bigint, OUT balance bigint,
    OUT earned_year bigint, OUT scans_total bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_merged bigint;
    v_status text;
    v_age timestamptz;
    v_action text;
    v_day bigint;
    v_month bigint;
    v_ledger bigint;
    v_hops integer := 0;
    v_rank integer;
BEGIN
    member_id := p_member_id;
    LOOP
        SELECT m.merged_into_id, m.status, m.tier, m.age_confirmed_at
          INTO v_merged, v_status, tier, v_age
          FROM members m
         WHERE m.id = jiubot_scan_credit.member_id AND m.tenant_id = p_tenant_id FOR UPDATE;
        IF NOT FOUND THEN
            outcome := 'unknown_member';
            RETURN;
        END IF;
        EXIT WHEN v_merged IS NULL;
        v_hops := v_hops + 1;
        IF v_hops >= 16 THEN
            outcome := 'unknown_member';
            RETURN;
        END IF;
        member_id := v_merged;
    END LOOP;

    PERFORM 1 FROM code_redemptions r WHERE r.batch_id = p_batch_id AND r.serial = p_serial;
    IF FOUND THEN
        outcome := 'repeat';
        RETURN;
    END IF;
    IF v_status = 'suspended' THEN
        outcome := 'suspended';
        RETURN;
    END IF;
    IF p_require_age AND v_age IS NULL THEN
        outcome := 'age';
        RETURN;
    END IF;

    SELECT c.action, c.store_code, c.distributor_code
      INTO v_action, store_code, distributor_code
      FROM code_ranges c
     WHERE c.batch_id = p_batch_id AND c.first_serial <= p_serial AND c.last_serial >= p_serial
     ORDER BY c.id DESC LIMIT 1;
    IF v_action = 'void' THEN
        outcome := 'voided';
        RETURN;
    END IF;
    IF v_action IS NULL AND p_require_activation THEN
        outcome := 'not_activated';
        RETURN;
    END IF;

    SELECT count(*) FILTER (WHERE r.scanned_at >= p_day),
           count(*) FILTER (WHERE r.scanned_at >= p_month),
           count(DISTINCT r.batch_id) FILTER (WHERE r.scanned_at >= p_pattern_since),
           count(DISTINCT r.region_code) FILTER (WHERE r.scanned_at >= p_pattern_since),
           coalesce(bool_or(r.scanned_at >= p_pattern_since AND r.batch_id = p_batch_id), false),
           coalesce(bool_or(r.scanned_at >= p_pattern_since AND r.region_code = p_region_code), false)
      INTO v_day, v_month, n_batches, n_regions, has_batch, has_region
      FROM code_redemptions r
     WHERE r.member_id = jiubot_scan_credit.member_id AND r.scanned_at >= least(p_month, p_pattern_since);
    IF v_day >= p_daily_cap THEN
        outcome := 'daily_cap';
        cap_count := v_day;
        RETURN;
    END IF;
    IF v_month >= p_monthly_cap THEN
        outcome := 'monthly_cap';
        cap_count := v_month;
        RETURN;
    END IF;
    IF p_check_flags THEN
        PERFORM 1 FROM fraud_flags f WHERE f.member_id = jiubot_scan_credit.member_id AND f.status = 'open';
        IF FOUND THEN
            outcome := 'flagged';
            RETURN;
        END IF;
    END IF;

    SELECT i.latitude, i.longitude INTO latitude, longitude
      FROM member_identities i
     WHERE i.member_id = jiubot_scan_credit.member_id AND i.location_at >= p_location_since
       AND i.latitude IS NOT NULL
     ORDER BY i.location_at DESC LIMIT 1;
    pending_referral := EXISTS (
        SELECT 1 FROM referrals f WHERE f.invitee_id = jiubot_scan_credit.member_id AND f.status = 'pending'
    );

    IF p_year_since IS NOT NULL THEN  -- this year's earnings, this scan's points included
        SELECT coalesce(sum(l.delta), 0) + p_points INTO earned_year
          FROM points_ledger l JOIN points_accounts a ON a.id = l.account_id
         WHERE a.member_id = jiubot_scan_credit.member_id AND a.kind = 'consumption'
           AND l.category IN ('earn', 'reverse') AND l.created_at > p_year_since AND l.created_at <= p_now;
    END IF;

    -- The fast call runs as its own transaction (autocommit): it claims only when nothing else
    -- is to be written with the credit; otherwise the caller runs the call again in a
    -- transaction with the follow-ups (store reward, referral, OA location, tier, pattern flag).
    IF p_fast THEN
        v_rank := coalesce(array_position(p_tier_codes, tier), 1);
        IF pending_referral
           OR (latitude IS NOT NULL AND NOT p_place_fixed)
           OR (store_code IS NOT NULL AND p_store_reward > 0)
           OR (earned_year IS NOT NULL AND v_rank < cardinality(p_tier_thresholds)
               AND p_tier_thresholds[v_rank + 1] <= earned_year)
           OR n_batches + (CASE WHEN has_batch THEN 0 ELSE 1 END) > p_max_batches
           OR n_regions + (CASE WHEN p_region_code IS NOT NULL AND NOT has_region THEN 1 ELSE 0 END)
              > p_max_regions
        THEN
            outcome := 'needs_transaction';
            RETURN;
        END IF;
    END IF;

    INSERT INTO code_redemptions (tenant_id, batch_id, serial, member_id, channel, scanned_at, points,
                                  store_code, store_reward, region_code, province, city, place_source,
                                  latitude, longitude, ip, diverted, repeat_count)
    VALUES (p_tenant_id, p_batch_id, p_serial, jiubot_scan_credit.member_id, p_channel, p_now, p_points,
            store_code, CASE WHEN store_code IS NULL THEN 0 ELSE p_store_reward END, p_region_code,
            p_province, p_city, p_place_source, p_latitude, p_longitude, p_ip, false, 0)
    ON CONFLICT ON CONSTRAINT uq_code_redemptions_batch_id_serial DO NOTHING
    RETURNING code_redemptions.id INTO redemption_id;
    IF redemption_id IS NULL THEN
        outcome := 'lost_race';
        RETURN;
    END IF;

    SELECT a.id INTO account_id FROM points_accounts a
     WHERE a.tenant_id = p_tenant_id AND a.kind = 'consumption'
       AND a.member_id = jiubot_scan_credit.member_id;
    IF account_id IS NULL THEN
        INSERT INTO points_accounts (tenant_id, kind, member_id, store_id, balance, status,
                                     created_at, updated_at)
        VALUES (p_tenant_id, 'consumption', jiubot_scan_credit.member_id, NULL, 0, 'open', p_now, p_now)
        ON CONFLICT ON CONSTRAINT uq_points_accounts_tenant_id_kind_member_id DO NOTHING;
        SELECT a.id INTO account_id FROM points_accounts a
         WHERE a.tenant_id = p_tenant_id AND a.kind = 'consumption'
           AND a.member_id = jiubot_scan_credit.member_id;
    END IF;

    INSERT INTO points_ledger (tenant_id, account_id, origin_account_id, delta, category, source_kind,
                               source_id, note, created_at)
    VALUES (p_tenant_id, account_id, account_id, p_points, 'earn', 'bottle_code', p_source_id,
            left(p_note, 200), p_now)
    ON CONFLICT ON CONSTRAINT uq_points_ledger_tenant_id_source_kind_source_id DO NOTHING
    RETURNING points_ledger.id INTO v_ledger;
    IF v_ledger IS NOT NULL THEN
        UPDATE points_accounts a SET balance = a.balance + p_points, updated_at = p_now
         WHERE a.id = account_id AND a.status = 'open' AND a.balance + p_points >= 0
        RETURNING a.balance INTO balance;
        IF balance IS NULL THEN
            -- undo this call's claim: a fast call commits what is left when it returns
            DELETE FROM points_ledger l WHERE l.id = v_ledger;
            DELETE FROM code_redemptions r WHERE r.id = redemption_id;
            SELECT CASE WHEN a.status = 'open' THEN 'insufficient' ELSE 'account_closed' END
              INTO outcome FROM points_accounts a WHERE a.id = account_id;
            RETURN;
        END IF;
    END IF;

    IF p_count_scans THEN
        SELECT count(*) INTO scans_total FROM code_redemptions r
         WHERE r.member_id = jiubot_scan_credit.member_id;
    END IF;
    outcome := 'credited';
END;
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS jiubot_scan_credit")
