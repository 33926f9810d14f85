"""搜索's text index (text_gram): every run of three characters of the texts an instance is
found by, kept as they are written; a search reads the rows of the instances it names
instead of a LIKE over every task, instance and ledger row

Revision ID: 0031_stats_text_index
Revises: 0030_desk_lines
Create Date: 2026-12-05

Filled here set-based from the rows, as engine/core/text_index.py `rebuild_text_index` does
(one INSERT … SELECT over a recursive walk of every text).
"""
from alembic import op
import sqlalchemy as sa


revision = '0031_stats_text_index'
down_revision = '0030_desk_lines'
branch_labels = None
depends_on = None


TEXTS = """
    SELECT id AS instance_id, business_key AS t FROM process_instance
    UNION SELECT instance_id, name FROM human_task
    UNION SELECT instance_id, title FROM issue_ledger
    UNION SELECT instance_id, business_key FROM issue_ledger
    UNION SELECT instance_id, project_code FROM issue_ledger
    UNION SELECT instance_id, project_name FROM issue_ledger
    UNION SELECT instance_id, title FROM instruction_desk
    UNION SELECT instance_id, business_key FROM instruction_desk
"""


def rebuild_sql(dialect: str) -> str:
    """Every run of three characters (and each text's last two and last one) of every text,
    A-Z folded, each character's code point in 21 bits, as text_index.py encodes them."""
    if dialect == "postgresql":
        folded = "translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
        point = "ascii"
    else:
        folded, point = "lower(t)", "unicode"

    def at(k: int) -> str:
        return f"CAST(coalesce({point}(nullif(substr(t, i + {k}, 1), '')), 0) AS BIGINT)"
    code = f"{at(0)} * {1 << 42} + {at(1)} * {1 << 21} + {at(2)}"
    return f"""
        WITH RECURSIVE texts(instance_id, t) AS (
            SELECT instance_id, {folded} FROM ({TEXTS}) AS every_text
            WHERE t IS NOT NULL AND t != ''),
        runs(instance_id, t, i) AS (
            SELECT instance_id, t, 1 FROM texts
            UNION ALL SELECT instance_id, t, i + 1 FROM runs WHERE i < length(t))
        INSERT INTO text_gram (gram, instance_id)
        SELECT DISTINCT {code}, instance_id FROM runs
    """


def upgrade() -> None:
    op.create_table('text_gram',
    sa.Column('gram', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('instance_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('gram', 'instance_id'),
    sqlite_with_rowid=False
    )
    op.execute(rebuild_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table('text_gram')
