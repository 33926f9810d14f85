"""project_registry: a reserve project's class and track, and a row version for edits

Revision ID: 0016_project_registry
Revises: 0015_administration
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_project_registry'
down_revision = '0015_administration'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('project') as batch:
        batch.add_column(sa.Column('reserve_class', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('reserve_track', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('row_version', sa.Integer(), nullable=False,
                                   server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('project') as batch:
        batch.drop_column('row_version')
        batch.drop_column('reserve_track')
        batch.drop_column('reserve_class')
