"""attachment, attachment_blob: files attached to forms (附件), kept by their SHA-256

Revision ID: 0021_attachments
Revises: 0020_message_channels
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_attachments'
down_revision = '0020_message_channels'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachment',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=150), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('field', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_attachment_instance', 'attachment', ['instance_id'], unique=False)
    op.create_index('ix_attachment_sha256', 'attachment', ['sha256'], unique=False)
    op.create_table('attachment_blob',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )


def downgrade() -> None:
    op.drop_table('attachment_blob')
    op.drop_index('ix_attachment_sha256', table_name='attachment')
    op.drop_index('ix_attachment_instance', table_name='attachment')
    op.drop_table('attachment')
