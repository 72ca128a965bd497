-- Target 03: the chat, rag and billing schemas (seed phases 2, 3 and 4).
-- The rest of the seed's scripts/migrate/03-create-tables.sql. Secondary indexes are in
-- 04_internal_and_indexes.sql.
--
-- application_id / consumer_id in chat and rag carry no REFERENCES, as in the seed ("cross-
-- schema reference"): their rows come from databases that never enforced those relations
-- (chat MySQL, the embeddings PostgreSQL), so orphans are expected in the legacy data.

-- chat.sessions
CREATE TABLE chat.sessions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL, -- Cross-schema reference
  consumer_id UUID,

  -- Source info
  source chat_source NOT NULL DEFAULT 'APP',
  phone_number TEXT, -- For WhatsApp/Voice

  -- Display
  title TEXT,
  is_public BOOLEAN DEFAULT FALSE,

  -- Metadata
  metadata JSONB DEFAULT '{}',

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  deleted_at TIMESTAMPTZ
);

-- chat.messages
CREATE TABLE chat.messages (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id UUID NOT NULL REFERENCES chat.sessions(id),

  -- Content
  sender_type sender_type NOT NULL,
  sender_id TEXT, -- User ID or 'bot'
  content TEXT NOT NULL,
  content_type message_type DEFAULT 'TEXT',

  -- AI details
  model_used TEXT,

  -- Tags (denormalized for query performance): app.message_tags ids
  tag_ids UUID[] DEFAULT '{}',

  -- Metadata
  metadata JSONB DEFAULT '{}',

  created_at TIMESTAMPTZ DEFAULT NOW()
);

-- chat.message_files
CREATE TABLE chat.message_files (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  message_id UUID NOT NULL REFERENCES chat.messages(id),

  name TEXT NOT NULL,
  type TEXT,
  size_bytes BIGINT,

  -- Storage
  persistent_url TEXT,
  expires_at TIMESTAMPTZ,

  created_at TIMESTAMPTZ DEFAULT NOW()
);

-- chat.user_memories (was UserMemory, main database)
CREATE TABLE chat.user_memories (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL,
  consumer_id UUID NOT NULL,

  category memory_category NOT NULL,
  content TEXT NOT NULL,
  confidence FLOAT DEFAULT 1.0,

  -- Source tracking
  source_session_id UUID REFERENCES chat.sessions(id),
  source_message_id UUID,

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- rag.knowledge_sources (was ApplicationAssistantFile)
CREATE TABLE rag.knowledge_sources (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL,

  -- Identity
  name TEXT NOT NULL,
  display_name TEXT,
  type knowledge_source_type NOT NULL,

  -- Source details
  url TEXT,
  size_bytes BIGINT,

  -- Processing
  status knowledge_source_status DEFAULT 'PENDING',
  rag_mode rag_mode DEFAULT 'CHUNKS',

  -- Refresh
  last_refreshed_at TIMESTAMPTZ,
  refresh_interval_hours INT,

  -- Metadata
  metadata JSONB DEFAULT '{}',

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- rag.chunks (was textchunk).
-- The column stays vector(3072): full precision, as the legacy stores it. Its ANN index
-- cannot be the seed's ivfflat (see the CORRECTION in 04_internal_and_indexes.sql).
CREATE TABLE rag.chunks (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  source_id UUID NOT NULL REFERENCES rag.knowledge_sources(id) ON DELETE CASCADE,

  -- Content
  text TEXT NOT NULL,

  -- Embedding
  embedding vector(3072),
  embedding_provider TEXT DEFAULT 'openai',
  embedding_model TEXT DEFAULT 'text-embedding-3-large',

  -- Position
  chunk_index INT,

  -- Metadata
  metadata JSONB DEFAULT '{}',

  created_at TIMESTAMPTZ DEFAULT NOW()
);

-- rag.document_summaries (was document_embeddings)
CREATE TABLE rag.document_summaries (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  source_id UUID NOT NULL REFERENCES rag.knowledge_sources(id) ON DELETE CASCADE,

  summary TEXT,
  full_text TEXT,

  -- Embedding
  embedding vector(3072),
  embedding_provider TEXT DEFAULT 'openai',
  embedding_model TEXT DEFAULT 'text-embedding-3-large',

  -- Section info for large docs
  section_metadata JSONB,

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),

  UNIQUE(source_id)
);

-- billing.subscriptions: the single home of the organization's Stripe and tier fields
CREATE TABLE billing.subscriptions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id UUID NOT NULL REFERENCES app.organizations(id),

  -- Stripe
  stripe_subscription_id TEXT UNIQUE,
  stripe_customer_id TEXT,

  -- Status
  tier subscription_tier NOT NULL DEFAULT 'FREE',
  period subscription_period DEFAULT 'MONTHLY',
  status subscription_status DEFAULT 'ACTIVE',

  -- Trial
  trial_ends_at TIMESTAMPTZ,

  -- Dates
  current_period_start TIMESTAMPTZ,
  current_period_end TIMESTAMPTZ,
  canceled_at TIMESTAMPTZ,

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- billing.credit_balance
CREATE TABLE billing.credit_balance (
  organization_id UUID PRIMARY KEY REFERENCES app.organizations(id),

  balance_cents INT DEFAULT 0,
  lifetime_usage_cents INT DEFAULT 0,

  -- Thresholds
  low_balance_threshold_cents INT DEFAULT 500, -- $5

  -- Status
  exhausted BOOLEAN DEFAULT FALSE,
  last_warning_at TIMESTAMPTZ,

  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- billing.usage_records (was TokenUsage)
CREATE TABLE billing.usage_records (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id UUID NOT NULL REFERENCES app.organizations(id),
  application_id UUID,

  -- Usage details
  model TEXT NOT NULL,
  input_tokens INT DEFAULT 0,
  output_tokens INT DEFAULT 0,
  total_tokens INT GENERATED ALWAYS AS (input_tokens + output_tokens) STORED,

  -- Cost
  -- CORRECTION: NUMERIC(14, 6), not INT. One model call routinely costs a fraction of a
  -- cent (1,000 tokens of a small model is about 0.06 cents): integer cents would record
  -- most of the 1.5M usage records as 0. The legacy TokenUsage.costUsd is DECIMAL(14, 8)
  -- dollars, i.e. exactly representable here in cents.
  cost_cents NUMERIC(14, 6) DEFAULT 0,

  -- Context
  session_id UUID,
  message_id UUID,

  created_at TIMESTAMPTZ DEFAULT NOW()
);
