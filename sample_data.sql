-- CapConduit sample data for development and the test suite. Never load it in production.
-- Logins (README "Sample logins"): admin / admin-password-2026, staff / staff-password-2026,
-- seller1 / seller1-password-2026, seller2 / seller2-password-2026.
-- Hashes are bcrypt (cost 10) of the SHA-256 hex digest, as Flask-Bcrypt writes them with
-- BCRYPT_HANDLE_LONG_PASSWORDS.

INSERT INTO users (id, username, email, password_hash, role, status, full_name, company_name) VALUES
  (1, 'admin',   'admin@capconduit.example',   '$2b$10$.66iA6v.FR5y5T5ccUXXUe2KoEcaOq5nmoAqFymNTHJl.FVmEnlqu', 'admin',  'active', 'Ada Admin',    'CapConduit'),
  (2, 'staff',   'staff@capconduit.example',   '$2b$10$Z4839EbBy/qrsNlf4MHcw.KnG5zvk4ZopFuDKk5XcCLRnazJNIIYy', 'staff',  'active', 'Sam Staff',    'CapConduit'),
  (3, 'seller1', 'seller1@acmeleads.example',  '$2b$10$rbpvrWk4zGC07PSouVb6Suj45w1iA1erOW6592mGEAyN3z/KL18j.', 'seller', 'active', 'Sally Seller', 'Acme Leads'),
  (4, 'seller2', 'seller2@brightleads.example','$2b$10$TjVRHf37DRFgLgpw0CUNuuuIHeK05u97GRf54vtsaE7Dr7M4O75X.', 'seller', 'active', 'Bob Buyer',    'Bright Leads');
SELECT setval(pg_get_serial_sequence('users', 'id'), 4);

INSERT INTO clients (id, client_identifier, name, department, status, notes, pjsip_mode) VALUES
  (1, 'acme-cc',    'Acme Call Center',   'Solar sales', 'active', 'Static PBX with digest auth', 'static'),
  (2, 'bluesky-cc', 'Bluesky Contact',    'Insurance',   'active', 'Static PBX, no auth',         'static'),
  (3, 'summit-cc',  'Summit Sales Floor', 'Medicare',    'active', 'Registers to us',             'register');
SELECT setval(pg_get_serial_sequence('clients', 'id'), 3);

-- Each client's SIP side, exactly as Asterisk's realtime driver reads it.
INSERT INTO ps_aors (id, contact, max_contacts) VALUES
  ('acme-cc',    'sip:agent@pbx.acme.example:5060', 1),
  ('bluesky-cc', 'sip:queue@203.0.113.20:5060', 1),
  ('summit-cc',  NULL, 2);
INSERT INTO ps_auths (id, auth_type, username, password) VALUES
  ('acme-cc',   'userpass', 'capconduit', 'acme-sample-sip-secret'),
  ('summit-cc', 'userpass', 'summit-cc',  'summit-sample-sip-secret');
INSERT INTO ps_endpoints (id, transport, aors, auth, outbound_auth, context, disallow, allow, direct_media, dtmf_mode) VALUES
  ('acme-cc',    'transport-udp', 'acme-cc',    NULL,        'acme-cc', 'cc-from-clients', 'all', 'ulaw,alaw', 'no', 'rfc4733'),
  ('bluesky-cc', 'transport-udp', 'bluesky-cc', NULL,        NULL,      'cc-from-clients', 'all', 'ulaw',      'no', 'rfc4733'),
  ('summit-cc',  'transport-udp', 'summit-cc',  'summit-cc', NULL,      'cc-from-clients', 'all', 'ulaw,g722', 'no', 'rfc4733');
INSERT INTO ps_endpoint_id_ips (id, endpoint, match) VALUES
  ('bluesky-cc', 'bluesky-cc', '203.0.113.20');

-- One carrier (inbound trunk): endpoint carrier-<id>, identified by IP, calls enter cc-inbound.
INSERT INTO carriers (id, name, status, identify_ips) VALUES
  (1, 'Sample Carrier', 'active', '{198.51.100.10}');
SELECT setval(pg_get_serial_sequence('carriers', 'id'), 1);
INSERT INTO ps_endpoints (id, transport, context, disallow, allow, direct_media, dtmf_mode) VALUES
  ('carrier-1', 'transport-udp', 'cc-inbound', 'all', 'ulaw,alaw', 'no', 'rfc4733');
INSERT INTO ps_endpoint_id_ips (id, endpoint, match) VALUES
  ('carrier-1', 'carrier-1', '198.51.100.10');

INSERT INTO dids (id, number, seller_id, description, status) VALUES
  (1, '+14155550100', 3, 'Solar landing page',  'active'),
  (2, '+14155550101', 3, 'Solar radio spot',    'active'),
  (3, '+14155550102', 3, 'Medicare mailer',     'active'),
  (4, '+12125550100', 4, 'Auto insurance TV',   'active'),
  (5, '+12125550101', 4, 'Spare number',        'inactive');
SELECT setval(pg_get_serial_sequence('dids', 'id'), 5);

INSERT INTO campaigns (id, seller_id, name, description, status, dial_timeout) VALUES
  (1, 3, 'Solar Leads',    'Residential solar inbound',  'active', 30),
  (2, 3, 'Medicare',       'Medicare Advantage inbound', 'active', 25),
  (3, 4, 'Auto Insurance', 'Auto insurance inbound',     'active', 30);
SELECT setval(pg_get_serial_sequence('campaigns', 'id'), 3);

INSERT INTO campaign_dids (did_id, campaign_id) VALUES (1, 1), (2, 1), (3, 2), (4, 3);

INSERT INTO campaign_client_settings
  (id, campaign_id, client_id, status, forwarding_priority, weight, max_concurrency, total_calls_allowed, current_total_calls) VALUES
  (1, 1, 1, 'active', 1, 70, 5, 100, 2),
  (2, 1, 2, 'active', 1, 30, 3, NULL, 1),
  (3, 1, 3, 'active', 2, 100, 2, 50, 0),
  (4, 2, 3, 'active', 1, 100, 4, 200, 0),
  (5, 3, 1, 'active', 1, 100, 2, 20, 0),
  (6, 3, 2, 'active', 2, 100, 2, NULL, 0);
SELECT setval(pg_get_serial_sequence('campaign_client_settings', 'id'), 6);

INSERT INTO call_logs (id, uniqueid, linkedid, did, caller_id, caller_number, seller_id, campaign_id,
                       client_id, started_at, answered_at, ended_at, duration, billsec, status, hangup_cause) VALUES
  (1, 'pbx-a-1795500000.1', 'pbx-a-1795500000.1', '+14155550100', '+13105550111', '+13105550111', 3, 1, 1,
   '2026-11-23 15:00:00+00', '2026-11-23 15:00:04+00', '2026-11-23 15:03:10+00', 190, 186, 'answered', 16),
  (2, 'pbx-a-1795500100.3', 'pbx-a-1795500100.3', '+14155550101', '+13105550122', '+13105550122', 3, 1, 2,
   '2026-11-23 15:10:00+00', '2026-11-23 15:10:15+00', '2026-11-23 15:12:00+00', 120, 105, 'answered', 16),
  (3, 'pbx-a-1795500200.5', 'pbx-a-1795500200.5', '+14155550100', '+13105550133', '+13105550133', 3, 1, 1,
   '2026-11-23 16:00:00+00', '2026-11-23 16:00:25+00', '2026-11-23 16:01:00+00', 60, 35, 'answered', 16),
  (4, 'pbx-a-1795500300.7', 'pbx-a-1795500300.7', '+14155550102', '+13105550144', '+13105550144', 3, 2, NULL,
   '2026-11-23 17:00:00+00', NULL, '2026-11-23 17:00:40+00', 40, 0, 'all_failed', 0),
  (5, 'pbx-a-1795500400.9', 'pbx-a-1795500400.9', '+12125550100', NULL, NULL, 4, 3, NULL,
   '2026-11-23 18:00:00+00', NULL, '2026-11-23 18:00:01+00', 1, 0, 'all_capped', 34);
SELECT setval(pg_get_serial_sequence('call_logs', 'id'), 5);

-- call_started_at: the call's started_at (attempts are partitioned and referenced by it).
INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id, setting_id, started_at, ended_at, dial_status, duration) VALUES
  (1, '2026-11-23 15:00:00+00', 1, 1, 1, '2026-11-23 15:00:00+00', '2026-11-23 15:03:10+00', 'ANSWER',   190),
  (2, '2026-11-23 15:10:00+00', 1, 1, 1, '2026-11-23 15:10:00+00', '2026-11-23 15:10:10+00', 'NOANSWER', 10),
  (2, '2026-11-23 15:10:00+00', 2, 2, 2, '2026-11-23 15:10:10+00', '2026-11-23 15:12:00+00', 'ANSWER',   110),
  (3, '2026-11-23 16:00:00+00', 1, 1, 1, '2026-11-23 16:00:00+00', '2026-11-23 16:01:00+00', 'ANSWER',   60),
  (4, '2026-11-23 17:00:00+00', 1, 3, 4, '2026-11-23 17:00:00+00', '2026-11-23 17:00:25+00', 'NOANSWER', 25);
