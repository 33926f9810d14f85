"""projects

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sub_command', sa.String(length=50), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('township', sa.String(length=50), nullable=False),
    sa.Column('lead_department', sa.String(length=50), nullable=False),
    sa.Column('project_unit', sa.String(length=50), nullable=False),
    sa.Column('specialist', sa.String(length=100), nullable=True),
    sa.Column('key_level', sa.String(length=20), nullable=False),
    sa.Column('funding', sa.String(length=20), nullable=False),
    sa.Column('planned_investment', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sub_command'], ['org_unit.code'], ),
    sa.ForeignKeyConstraint(['township'], ['org_unit.code'], ),
    sa.ForeignKeyConstraint(['lead_department'], ['org_unit.code'], ),
    sa.ForeignKeyConstraint(['project_unit'], ['org_unit.code'], ),
    sa.ForeignKeyConstraint(['specialist'], ['user_account.username'], ),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_sub_command'), ['sub_command'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_stage'), ['stage'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_stage'))
        batch_op.drop_index(batch_op.f('ix_project_sub_command'))
    op.drop_table('project')
