"""Covering indexes of the schedule and progress months: 挂图作战 and the bulletin sum every
project's investment to date from the index alone (bench/county_history.py, issue 20)

Revision ID: 0027_investment_cover
Revises: 0026_project_instance
Create Date: 2026-12-05
"""
from alembic import op


revision = '0027_investment_cover'
down_revision = '0026_project_instance'
branch_labels = None
depends_on = '0008_command_board'


def upgrade() -> None:
    op.create_index('ix_project_schedule_cover', 'project_schedule',
                    ['project_code', 'month', 'planned_investment'], unique=False)
    op.create_index('ix_project_progress_cover', 'project_progress',
                    ['project_code', 'month', 'actual_investment'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_project_progress_cover', table_name='project_progress')
    op.drop_index('ix_project_schedule_cover', table_name='project_schedule')
