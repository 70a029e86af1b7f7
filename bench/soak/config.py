"""The soak's data set (sample_data.sql), the tight caps it sets and its traffic mix."""
DATABASE = "capconduit_soak"
SELLERS = {"seller1": "seller1-password-2026", "seller2": "seller2-password-2026"}
ADMIN = ("admin", "admin-password-2026")

# Sample data (sample_data.sql): campaign -> DIDs; who owns what.
CAMPAIGN_DIDS = {1: ["+14155550100", "+14155550101"], 2: ["+14155550102"], 3: ["+12125550100"]}
INACTIVE_DID = "+12125550101"
UNKNOWN_DID = "+14155559999"
SELLER_CAMPAIGNS = {"seller1": [1, 2], "seller2": [3]}
DID_MIX = [(CAMPAIGN_DIDS[1][0], 0.25), (CAMPAIGN_DIDS[1][1], 0.20), (CAMPAIGN_DIDS[2][0], 0.20),
           (CAMPAIGN_DIDS[3][0], 0.30), (INACTIVE_DID, 0.03), (UNKNOWN_DID, 0.02)]

# The tight caps set at the start.
CLIENT_SEATS = {1: 4, 2: 3, 3: 3}                      # acme-cc, bluesky-cc, summit-cc
CAMPAIGN_CAPS = {1: {"max_concurrency": 6}, 2: {"max_concurrency": 3},
                 3: {"max_concurrency": 3, "daily_cap": 10}}
LINK_CAPS = {1: 3, 2: 2, 3: 2, 4: 3, 5: 2, 6: 2}        # setting id -> max_concurrency
TOTAL_HEADROOM = 10                                     # total_calls_allowed = delivered + this
# Campaign 3 answers about 0.35 calls/s under these caps: a raise of 6 every 30 s keeps its daily
# cap binding for most of the run.
DAILY_CAP_CAMPAIGN, DAILY_CAP_RAISE, DAILY_CAP_EVERY = 3, 6, 30.0

# One Dial(): (DIALSTATUS, probability). CANCEL = the caller hangs up while it rings.
DIAL_MIX = [("ANSWER", 0.40), ("BUSY", 0.18), ("NOANSWER", 0.18), ("CHANUNAVAIL", 0.06),
            ("CANCEL", 0.18)]
CALL_TIMEOUT = 120.0  # no simulated call may take longer than this (then it is counted a failure)
