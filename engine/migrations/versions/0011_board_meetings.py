"""board_meetings: award nominations, quarterly awards and meeting decisions

Revision ID: 0011_board_meetings
Revises: 0008_command_board
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_board_meetings'
down_revision = '0008_command_board'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('award_nomination',
    sa.Column('quarter', sa.String(length=7), nullable=False),
    sa.Column('sub_command', sa.String(length=50), nullable=False),
    sa.Column('best_project', sa.String(length=50), nullable=False),
    sa.Column('worst_project', sa.String(length=50), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('quarter', 'sub_command')
    )
    op.create_table('quarter_award',
    sa.Column('quarter', sa.String(length=7), nullable=False),
    sa.Column('project_code', sa.String(length=50), nullable=False),
    sa.Column('award', sa.String(length=20), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('quarter', 'project_code')
    )
    op.create_table('meeting_decision',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('meeting_key', sa.String(length=100), nullable=False),
    sa.Column('item_ref', sa.String(length=100), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meeting_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_decision_meeting_key'), ['meeting_key'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('meeting_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_decision_meeting_key'))
    op.drop_table('meeting_decision')
    op.drop_table('quarter_award')
    op.drop_table('award_nomination')
