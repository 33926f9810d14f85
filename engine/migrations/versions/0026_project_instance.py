"""project_instance: which instances name a project in their start data, kept as each start
is appended to the audit chain (a project's 查账 trail read every start event before)

Revision ID: 0026_project_instance
Revises: 0025_history_indexes
Create Date: 2026-12-05

Filled here from the `instance_started` events already in the chain, as
engine/county/audit_trails.py `started_project` reads them.
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0026_project_instance'
down_revision = '0025_history_indexes'
branch_labels = None
depends_on = None


def _project(detail):
    try:
        data = json.loads(detail or "{}").get("data")
    except (ValueError, AttributeError):
        return None
    code = data.get("project_code") if isinstance(data, dict) else None
    return code if isinstance(code, str) and code else None


def upgrade() -> None:
    table = op.create_table('project_instance',
    sa.Column('project_code', sa.String(length=200), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('project_code', 'instance_id')
    )
    op.create_index('ix_project_instance_instance', 'project_instance', ['instance_id'],
                    unique=False)
    connection = op.get_bind()
    events = sa.table('audit_event', sa.column('id', sa.Integer), sa.column('action', sa.String),
                      sa.column('instance_id', sa.Integer), sa.column('detail', sa.Text))
    last = 0
    while True:  # in batches by id: a county's history holds hundreds of thousands of starts
        batch = connection.execute(sa.select(events.c.id, events.c.instance_id, events.c.detail)
                                   .where(events.c.action == 'instance_started',
                                          events.c.id > last)
                                   .order_by(events.c.id).limit(20_000)).all()
        if not batch:
            break
        last = batch[-1].id
        rows = {(code, row.instance_id) for row in batch if row.instance_id is not None
                and (code := _project(row.detail)) is not None}
        if rows:
            connection.execute(table.insert(), [{"project_code": code, "instance_id": instance}
                                                for code, instance in sorted(rows)])


def downgrade() -> None:
    op.drop_index('ix_project_instance_instance', table_name='project_instance')
    op.drop_table('project_instance')
