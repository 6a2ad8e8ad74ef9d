-- Running upgrade 0002 -> 0003

CREATE TABLE dvf_audit_event (
    seq NUMBER(19) NOT NULL, 
    event_id VARCHAR2(36 CHAR) NOT NULL, 
    occurred_at TIMESTAMP NOT NULL, 
    actor_id VARCHAR2(64 CHAR) NOT NULL, 
    actor_dept VARCHAR2(16 CHAR) NOT NULL, 
    action VARCHAR2(32 CHAR) NOT NULL, 
    target VARCHAR2(64 CHAR), 
    outcome VARCHAR2(16 CHAR) NOT NULL, 
    reason_code VARCHAR2(64 CHAR), 
    details CLOB NOT NULL, 
    prev_hash VARCHAR2(64 CHAR) NOT NULL, 
    event_hash VARCHAR2(64 CHAR) NOT NULL, 
    CONSTRAINT pk_dvf_audit_event PRIMARY KEY (seq), 
    CONSTRAINT uq_dvf_audit_event_event_id UNIQUE (event_id), 
    CONSTRAINT ck_dvf_audit_event_outcome CHECK (outcome IN ('ok', 'denied', 'error'))
)

/

CREATE TABLE dvf_chain_head (
    id SMALLINT NOT NULL, 
    last_seq NUMBER(19) NOT NULL, 
    last_hash VARCHAR2(64 CHAR) NOT NULL, 
    change_no NUMBER(19) NOT NULL, 
    output_no NUMBER(19) NOT NULL, 
    CONSTRAINT pk_dvf_chain_head PRIMARY KEY (id), 
    CONSTRAINT ck_dvf_chain_head_single_row CHECK (id = 1)
)

/

INSERT INTO dvf_chain_head (id, last_seq, last_hash, change_no, output_no) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0, 0)

/

UPDATE dvf_alembic_version SET version_num='0003' WHERE dvf_alembic_version.version_num = '0002'

/

COMMIT

/

