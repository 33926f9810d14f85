"""command_board: project schedules, progress reports, plates, awards and meeting decisions

Revision ID: 0008_command_board
Revises: 0005
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_command_board'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_schedule',
    sa.Column('project_code', sa.String(length=50), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('planned_investment', sa.Integer(), nullable=False),
    sa.Column('milestone', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['project_code'], ['project.code'], ),
    sa.PrimaryKeyConstraint('project_code', 'month')
    )
    op.create_table('project_progress',
    sa.Column('project_code', sa.String(length=50), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('actual_investment', sa.Integer(), nullable=False),
    sa.Column('milestone_done', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('reported_by', sa.String(length=100), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_code'], ['project.code'], ),
    sa.PrimaryKeyConstraint('project_code', 'month')
    )
    op.create_table('project_plate',
    sa.Column('project_code', sa.String(length=50), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('plate', sa.String(length=20), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('evaluated_by', sa.String(length=100), nullable=False),
    sa.Column('followup_instance', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('project_code', 'month')
    )
    with op.batch_alter_table('project_plate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_plate_month'), ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('project_plate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_plate_month'))
    op.drop_table('project_plate')
    op.drop_table('project_progress')
    op.drop_table('project_schedule')
