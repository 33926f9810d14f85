"""inbox_order: task_candidate repeats whether its task is offered and the task's sort key

Revision ID: 0012_inbox_order
Revises: 0005
Create Date: 2026-11-30
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0012_inbox_order'
down_revision = '0005'
branch_labels = None
depends_on = None

NO_DUE = datetime(9999, 12, 31, tzinfo=timezone.utc)  # engine.models.NO_DUE


def upgrade() -> None:
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offered', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('due_sort', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))
    # Fill the copies from the task rows (the engine keeps them in step from now on).
    op.execute(sa.text("""
        UPDATE task_candidate SET
          offered = COALESCE((SELECT human_task.state = 'open' AND human_task.assignee IS NULL
                              FROM human_task WHERE human_task.id = task_candidate.task_id),
                             false)
            AND task_candidate.kind IN ('group', 'user'),
          due_sort = (SELECT human_task.due_at FROM human_task
                      WHERE human_task.id = task_candidate.task_id),
          created_at = (SELECT human_task.created_at FROM human_task
                        WHERE human_task.id = task_candidate.task_id)
    """))
    op.execute(sa.text("UPDATE task_candidate SET due_sort = :no_due WHERE due_sort IS NULL")
               .bindparams(sa.bindparam('no_due', NO_DUE, type_=sa.DateTime(timezone=True))))
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.alter_column('due_sort', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.create_index('ix_task_candidate_offer',
                              ['kind', 'name', 'offered', 'due_sort', 'created_at', 'task_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_offer')
        batch_op.drop_column('created_at')
        batch_op.drop_column('due_sort')
        batch_op.drop_column('offered')
