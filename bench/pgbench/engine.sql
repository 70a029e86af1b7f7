-- The engine's own statements, called the way the FastAGI server calls them (one autocommit
-- statement per step: route, answered, hangup), without FastAGI or Python. One script run =
-- one call. Variables (-D): links, didbase (link i's DID is +1 (didbase + i)), run, seq=0.
\set i random(0, :links - 1)
\set seq :seq + 1
\set did :didbase + :i
\set caller random(0, 9999)
SELECT (action = 'dial')::int AS dialled, coalesce(attempt, 0) AS attempt
FROM cc_route('en-' || :run || '-' || :client_id || '-' || :seq,
              'en-' || :run || '-' || :client_id || '-' || :seq,
              (:did)::text, '+1' || :did,
              '+1310555' || lpad(:caller::text, 4, '0'), '+1310555' || lpad(:caller::text, 4, '0'), NULL, 30, NULL) \gset
\if :dialled
SELECT cc_answered('en-' || :run || '-' || :client_id || '-' || :seq, :attempt);
SELECT cc_hangup('en-' || :run || '-' || :client_id || '-' || :seq,
                 'en-' || :run || '-' || :client_id || '-' || :seq,
                 (:did)::text, '+1' || :did,
                 '+1310555' || lpad(:caller::text, 4, '0'), '+1310555' || lpad(:caller::text, 4, '0'), 'ANSWER', :attempt, 16, 60,
                 'abandoned', NULL);
\else
SELECT cc_hangup('en-' || :run || '-' || :client_id || '-' || :seq,
                 'en-' || :run || '-' || :client_id || '-' || :seq,
                 (:did)::text, '+1' || :did,
                 '+1310555' || lpad(:caller::text, 4, '0'), '+1310555' || lpad(:caller::text, 4, '0'), NULL, NULL, 16, 0,
                 'abandoned', NULL);
\endif
