"""CapConduit's own tables: users, clients, DIDs, campaigns, routing settings, call logs,
reservations.

Revision ID: 0002_core
Revises: 0001_realtime
Create Date: 2026-11-24 11:35:57.428969

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_core'
down_revision = "0001_realtime"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_identifier', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=200), server_default='', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('notes', sa.Text(), server_default='', nullable=False),
    sa.Column('pjsip_mode', sa.String(length=16), server_default='static', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("client_identifier ~ '^[a-z0-9_-]{1,40}$'", name=op.f('ck_clients_identifier')),
    sa.CheckConstraint("pjsip_mode IN ('static', 'register')", name=op.f('ck_clients_pjsip_mode')),
    sa.CheckConstraint("status IN ('active', 'inactive')", name=op.f('ck_clients_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('client_identifier', name=op.f('uq_clients_client_identifier'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('full_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('company_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('session_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'staff', 'seller')", name=op.f('ck_users_role')),
    sa.CheckConstraint("status IN ('active', 'inactive', 'suspended')", name=op.f('ck_users_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    op.create_index('uq_users_email_lower', 'users', [sa.text('lower(email)')], unique=True)
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)

    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=1000), server_default='', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('dial_timeout', sa.Integer(), server_default='30', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'inactive')", name=op.f('ck_campaigns_status')),
    sa.CheckConstraint('dial_timeout BETWEEN 5 AND 120', name=op.f('ck_campaigns_dial_timeout')),
    sa.ForeignKeyConstraint(['seller_id'], ['users.id'], name=op.f('fk_campaigns_seller_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('seller_id', 'name', name=op.f('uq_campaigns_seller_id_name'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_seller_id'), ['seller_id'], unique=False)

    op.create_table('dids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=500), server_default='', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("number ~ '^\\+[1-9][0-9]{6,14}$'", name=op.f('ck_dids_e164')),
    sa.CheckConstraint("status IN ('active', 'inactive')", name=op.f('ck_dids_status')),
    sa.ForeignKeyConstraint(['seller_id'], ['users.id'], name=op.f('fk_dids_seller_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dids')),
    sa.UniqueConstraint('number', name=op.f('uq_dids_number'))
    )
    with op.batch_alter_table('dids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dids_seller_id'), ['seller_id'], unique=False)

    op.create_table('call_logs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('uniqueid', sa.String(length=150), nullable=False),
    sa.Column('linkedid', sa.String(length=150), nullable=True),
    sa.Column('did', sa.String(length=32), nullable=True),
    sa.Column('caller_id', sa.String(length=80), nullable=True),
    sa.Column('seller_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('billsec', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='in_progress', nullable=False),
    sa.Column('hangup_cause', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('in_progress', 'answered', 'no_route', 'all_capped', 'all_failed', 'abandoned', 'error')", name=op.f('ck_call_logs_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_call_logs_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_call_logs_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['seller_id'], ['users.id'], name=op.f('fk_call_logs_seller_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_logs')),
    sa.UniqueConstraint('uniqueid', name=op.f('uq_call_logs_uniqueid'))
    )
    with op.batch_alter_table('call_logs', schema=None) as batch_op:
        batch_op.create_index('ix_call_logs_campaign_started', ['campaign_id', 'started_at'], unique=False)
        batch_op.create_index('ix_call_logs_client_started', ['client_id', 'started_at'], unique=False)
        batch_op.create_index('ix_call_logs_seller_started', ['seller_id', 'started_at', 'id'], unique=False)
        batch_op.create_index('ix_call_logs_started_at_id', ['started_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_logs_status'), ['status'], unique=False)

    op.create_table('campaign_client_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('forwarding_priority', sa.Integer(), server_default='1', nullable=False),
    sa.Column('weight', sa.Integer(), server_default='100', nullable=False),
    sa.Column('max_concurrency', sa.Integer(), server_default='1', nullable=False),
    sa.Column('total_calls_allowed', sa.Integer(), nullable=True),
    sa.Column('current_total_calls', sa.Integer(), server_default='0', nullable=False),
    sa.Column('in_flight', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'inactive')", name=op.f('ck_campaign_client_settings_status')),
    sa.CheckConstraint('current_total_calls >= 0', name=op.f('ck_campaign_client_settings_current_total_calls')),
    sa.CheckConstraint('forwarding_priority >= 1', name=op.f('ck_campaign_client_settings_forwarding_priority')),
    sa.CheckConstraint('in_flight >= 0', name=op.f('ck_campaign_client_settings_in_flight')),
    sa.CheckConstraint('max_concurrency >= 1', name=op.f('ck_campaign_client_settings_max_concurrency')),
    sa.CheckConstraint('total_calls_allowed IS NULL OR total_calls_allowed >= 0', name=op.f('ck_campaign_client_settings_total_calls_allowed')),
    sa.CheckConstraint('weight BETWEEN 0 AND 1000', name=op.f('ck_campaign_client_settings_weight')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_client_settings_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_campaign_client_settings_client_id_clients'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_client_settings')),
    sa.UniqueConstraint('campaign_id', 'client_id', name=op.f('uq_campaign_client_settings_campaign_id_client_id'))
    )
    with op.batch_alter_table('campaign_client_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_client_settings_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_client_settings_client_id'), ['client_id'], unique=False)

    op.create_table('campaign_dids',
    sa.Column('did_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_dids_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['did_id'], ['dids.id'], name=op.f('fk_campaign_dids_did_id_dids'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('did_id', name=op.f('pk_campaign_dids'))
    )
    with op.batch_alter_table('campaign_dids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_dids_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('call_attempts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('call_log_id', sa.BigInteger(), nullable=False),
    sa.Column('attempt_no', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('setting_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dial_status', sa.String(length=16), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['call_log_id'], ['call_logs.id'], name=op.f('fk_call_attempts_call_log_id_call_logs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_call_attempts_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['setting_id'], ['campaign_client_settings.id'], name=op.f('fk_call_attempts_setting_id_campaign_client_settings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_attempts')),
    sa.UniqueConstraint('call_log_id', 'attempt_no', name=op.f('uq_call_attempts_call_log_id_attempt_no'))
    )
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_attempts_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_attempts_setting_id'), ['setting_id'], unique=False)

    op.create_table('reservations',
    sa.Column('uniqueid', sa.String(length=150), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('setting_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='dialing', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('dialing', 'answered')", name=op.f('ck_reservations_state')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_reservations_campaign_id_campaigns'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_reservations_client_id_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['setting_id'], ['campaign_client_settings.id'], name=op.f('fk_reservations_setting_id_campaign_client_settings'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('uniqueid', 'attempt', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservations_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservations_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservations_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservations_setting_id'), ['setting_id'], unique=False)



def downgrade():
    # Indexes and constraints go with their tables.
    for table in ("reservations", "call_attempts", "campaign_dids", "campaign_client_settings",
                  "call_logs", "dids", "campaigns", "users", "clients"):
        op.drop_table(table)
