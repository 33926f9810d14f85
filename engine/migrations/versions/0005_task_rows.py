"""human task rows: an id of their own, apart from the SpiffWorkflow task id

A task that is returned to (退回) or withdrawn (撤回) becomes ready again with the same
SpiffWorkflow task id; each time it becomes ready is now a row of its own.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spiff_task_id', sa.String(length=36), nullable=True))
    op.execute("UPDATE human_task SET spiff_task_id = id")
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.alter_column('spiff_task_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_index('ix_human_task_instance_spiff', ['instance_id', 'spiff_task_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_instance_spiff')
        batch_op.drop_column('spiff_task_id')
