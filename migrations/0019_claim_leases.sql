-- Claims on scheduled work and outbox rows say who holds them and until when. One process needed neither (a
-- start could reset every claim it found); several processes over one PostgreSQL database do: a claim is
-- renewed while its holder lives and taken over by the servers' owner once its lease has ended.
ALTER TABLE timers ADD COLUMN claimed_by TEXT;     -- the process running it: host:pid:random
ALTER TABLE timers ADD COLUMN lease_until TEXT;    -- taken over after this unless renewed
ALTER TABLE job_runs ADD COLUMN claimed_by TEXT;
ALTER TABLE job_runs ADD COLUMN lease_until TEXT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
