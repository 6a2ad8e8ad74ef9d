-- Running upgrade 0005 -> 0006

ALTER TABLE dvf_audit_event DROP CONSTRAINT uq_dvf_audit_event_seq

/

CREATE UNIQUE INDEX uq_dvf_audit_event_seq ON dvf_audit_event (seq)

/

UPDATE dvf_alembic_version SET version_num='0006' WHERE dvf_alembic_version.version_num = '0005'

/

COMMIT

/

