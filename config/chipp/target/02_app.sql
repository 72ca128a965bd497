-- Target 02: the app schema (seed phases 1 and 5, with the production-analysis revisions).
-- Part of the seed's scripts/migrate/03-create-tables.sql, in dependency order. Secondary
-- indexes are in 04_internal_and_indexes.sql (the seed's 04-create-indexes.sql) so that
-- they can be built after the backfill.
--
-- Foreign keys are declared as the model wants them. The replicator suspends them while it
-- streams (a child may arrive before its parent) and restores and validates them at cutover.

-- CORRECTION: the seed's app.organizations references app.whitelabel_tenants(id), which the
-- seed never defines, and before it would exist. It is created first, from the legacy
-- WhitelabelTenant (0 active, not launched, but the reference exists).
CREATE TABLE app.whitelabel_tenants (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name TEXT NOT NULL,
  domain TEXT UNIQUE,
  config JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- app.organizations: top-level billing entity
CREATE TABLE app.organizations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name TEXT NOT NULL,
  slug TEXT UNIQUE,
  picture_url TEXT,

  -- CORRECTION: stripe_customer_id, stripe_subscription_id, subscription_tier and
  -- subscription_period are not repeated here. The seed's draft put them both here ("single
  -- source of truth") and in billing.subscriptions, and its Final Consolidation
  -- Recommendations say "Organization billing fields -> billing.subscriptions": two copies
  -- of the same fact are the kind of duplicate the plan removes (DeveloperCredentials).
  -- They live in billing.subscriptions only.

  -- Usage-based billing
  usage_based_billing_enabled BOOLEAN DEFAULT FALSE,
  -- CORRECTION: credits_exhausted is not repeated here: billing.credit_balance.exhausted
  -- holds it (same reason as above).

  -- Feature flags (JSONB for flexibility)
  feature_flags JSONB DEFAULT '{}',

  -- Whitelabel
  whitelabel_tenant_id UUID REFERENCES app.whitelabel_tenants(id),

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  deleted_at TIMESTAMPTZ
);

-- app.workspaces: project container within org
CREATE TABLE app.workspaces (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id UUID NOT NULL REFERENCES app.organizations(id),
  name TEXT NOT NULL,
  slug TEXT NOT NULL,
  picture_url TEXT,

  -- Settings
  -- CORRECTION: the seed's `visibility workspace_visibility DEFAULT 'PRIVATE'` uses a type
  -- it never creates and whose removal it asks for ("simplify to boolean is_private").
  is_private BOOLEAN DEFAULT TRUE,
  max_seats INT,

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  deleted_at TIMESTAMPTZ,

  UNIQUE(organization_id, slug)
);

-- app.users (was Developer).
-- CORRECTION: this is the seed's "Revised User Schema (based on production data)", not the
-- Phase 1.2 draft: local passwords (30 percent of users) and Stripe Connect accounts (712,
-- actively used) are kept, and is_super_admin is merged in from DeveloperCredentials. The
-- draft also had a trailing comma before its closing parenthesis (a syntax error).
CREATE TABLE app.users (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  email TEXT UNIQUE NOT NULL,
  name TEXT,
  picture_url TEXT,
  username TEXT UNIQUE,

  -- Auth (30% use local auth)
  password_hash TEXT,
  email_verified BOOLEAN DEFAULT FALSE,

  -- Stripe Connect for payouts (actively used)
  stripe_account_id TEXT,
  stripe_onboarding_complete BOOLEAN DEFAULT FALSE,

  -- Profile
  acquisition_source TEXT,
  acquisition_referrer_url TEXT,
  has_completed_onboarding BOOLEAN DEFAULT FALSE,
  has_seen_builder_tour BOOLEAN DEFAULT FALSE,
  is_super_admin BOOLEAN DEFAULT FALSE,

  -- Context
  -- NOTE: no REFERENCES app.workspaces(id), as in the revised table (the draft had one).
  active_workspace_id UUID,

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- CORRECTION: the Phase 1.2 draft's app.user_credentials is not created. The revised user
-- schema carries password_hash and email_verified itself, the Final Consolidation
-- Recommendations merge DeveloperCredentials into app.users (isSuperAdmin) and move its
-- tokens (OTP, Zapier) out of the database, and no legacy data feeds mfa_enabled/mfa_secret.

-- CORRECTION: the seed keeps WorkspaceMember and OrganizationMember ("Active") but defines
-- no target table for them: these two follow the legacy shape.
CREATE TABLE app.organization_members (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id UUID NOT NULL REFERENCES app.organizations(id),
  user_id UUID NOT NULL REFERENCES app.users(id),
  role workspace_role NOT NULL DEFAULT 'VIEWER',
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  UNIQUE(organization_id, user_id)
);

CREATE TABLE app.workspace_members (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id UUID NOT NULL REFERENCES app.workspaces(id),
  user_id UUID NOT NULL REFERENCES app.users(id),
  role workspace_role NOT NULL DEFAULT 'VIEWER',
  joined_via_invite BOOLEAN DEFAULT FALSE,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  UNIQUE(workspace_id, user_id)
);

-- app.applications: AI chatbot/agent
CREATE TABLE app.applications (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id UUID NOT NULL REFERENCES app.workspaces(id),
  owner_id UUID NOT NULL REFERENCES app.users(id),

  -- Identity
  name TEXT NOT NULL,
  description TEXT,
  slug TEXT,

  -- Configuration
  starting_message TEXT,
  input_placeholder TEXT,
  disclaimer_text TEXT,

  -- Publishing
  publish_state publish_state DEFAULT 'ONLY_ME',
  chat_type chat_type DEFAULT 'ChippHosted',

  -- Localization
  language language DEFAULT 'EN',
  text_direction text_direction DEFAULT 'LTR',
  currency currency DEFAULT 'USD',

  -- RAG settings
  rag_config JSONB DEFAULT '{
    "relevance_threshold": 0.7,
    "max_chunks": 10,
    "use_hybrid_search": true,
    "document_weight": 0.5
  }',

  -- Voice/Phone
  phone_number TEXT,
  default_interaction_method interaction_method DEFAULT 'CHAT',

  -- Versioning
  published_version_id UUID,
  last_published_at TIMESTAMPTZ,

  -- Metadata
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  deleted_at TIMESTAMPTZ,

  UNIQUE(workspace_id, slug)
);

-- CORRECTION: the seed moves Application.customDomain/customDomainSSLVerified "to
-- app.custom_domains" and brandStyles "to a separate table" but defines neither. Both are
-- live customer configuration (a custom domain serves a customer's site), so they get a
-- table each rather than being lost. One row per legacy application that has a value.
CREATE TABLE app.custom_domains (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL REFERENCES app.applications(id) ON DELETE CASCADE,
  domain TEXT NOT NULL UNIQUE,
  ssl_verified BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE app.brand_styles (
  application_id UUID PRIMARY KEY REFERENCES app.applications(id) ON DELETE CASCADE,
  styles JSONB NOT NULL DEFAULT '{}',
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- app.consumers: end users of applications.
-- CORRECTION: this is the seed's "Revised Consumer Schema (optimized for 78M anonymous
-- users)", not the Phase 1.4 draft (no identifier_type, keeps optional password_hash and
-- email_verified), except for stripe_customer_id: the revised table lists it but the Final
-- Consolidation Recommendations and the Tech Debt table both remove Consumer.stripeCustomerId
-- (2,083 rows, 0.003 percent), so it is not created.
CREATE TABLE app.consumers (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  -- NOTE: no REFERENCES app.applications(id), as in the revised table (the draft had one).
  application_id UUID NOT NULL,

  -- Identity
  identifier TEXT NOT NULL,
  mode environment_mode DEFAULT 'LIVE',

  -- Core (97% have credits)
  credits INT DEFAULT 0,

  -- Optional profile (0.05% have email)
  name TEXT,
  email TEXT,
  picture_url TEXT,

  -- Optional auth (0.03% use password)
  password_hash TEXT,
  email_verified BOOLEAN DEFAULT FALSE,

  -- Optional subscription (0.0008% active)
  subscription_active BOOLEAN DEFAULT FALSE,

  -- User preferences
  custom_instructions TEXT,

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  deleted_at TIMESTAMPTZ,

  UNIQUE(application_id, identifier, mode)
);

-- CORRECTION: chat.messages.tag_ids holds tag UUIDs "denormalized", and MessageTag is kept
-- ("moderate use"), but the seed defines no table for the tags themselves.
CREATE TABLE app.message_tags (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL REFERENCES app.applications(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT,
  color TEXT,
  is_enabled BOOLEAN DEFAULT TRUE,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  UNIQUE(application_id, name)
);

-- CORRECTION: LeadGenerationForm is kept as-is (1,542 active) but the seed defines no target
-- table. LeadGenerationTiming (one value) is removed, the legacy status DELETED becomes
-- deleted_at (the standard soft delete) and ACTIVE/PAUSED becomes is_active.
CREATE TABLE app.lead_generation_forms (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL REFERENCES app.applications(id),
  title TEXT NOT NULL,
  description TEXT,
  fields JSONB NOT NULL DEFAULT '[]',
  submit_button_text TEXT,
  is_active BOOLEAN DEFAULT TRUE,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),
  deleted_at TIMESTAMPTZ
);

-- app.action_collections
CREATE TABLE app.action_collections (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id UUID REFERENCES app.workspaces(id),

  -- Identity
  name TEXT NOT NULL,
  slug TEXT NOT NULL,
  description TEXT,

  -- Sharing
  sharing_scope sharing_scope DEFAULT 'PRIVATE',

  -- Metadata
  icon TEXT,
  cover_image TEXT,
  tags TEXT[] DEFAULT '{}',

  -- Stats
  install_count INT DEFAULT 0,

  -- Review (for public collections)
  review_status review_status DEFAULT 'PENDING',
  reviewed_at TIMESTAMPTZ,
  reviewed_by UUID REFERENCES app.users(id),

  created_by UUID NOT NULL REFERENCES app.users(id),
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),

  UNIQUE(workspace_id, slug)
);

-- app.actions (was ActionTemplate)
CREATE TABLE app.actions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  collection_id UUID NOT NULL REFERENCES app.action_collections(id) ON DELETE CASCADE,

  -- Identity
  name TEXT NOT NULL,
  tool_name TEXT NOT NULL, -- AI function name
  description TEXT,
  tool_description TEXT, -- Description for AI

  -- Endpoint
  url TEXT NOT NULL,
  method http_method DEFAULT 'GET',

  -- Parameters (JSONB for flexibility)
  headers JSONB DEFAULT '{}',
  query_params JSONB DEFAULT '{}',
  body_params JSONB DEFAULT '{}',
  path_params JSONB DEFAULT '{}',

  -- Schema
  request_schema JSONB,
  response_schema JSONB,

  -- Auth
  auth_type action_auth_type DEFAULT 'NONE',
  auth_config JSONB,

  -- Options
  timeout_ms INT DEFAULT 30000,
  is_client_side BOOLEAN DEFAULT FALSE,

  -- Display
  present_tense_verb TEXT,
  past_tense_verb TEXT,
  ordinal INT DEFAULT 0,

  is_active BOOLEAN DEFAULT TRUE,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- app.application_actions (links apps to actions, was UserDefinedTool)
CREATE TABLE app.application_actions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL REFERENCES app.applications(id) ON DELETE CASCADE,
  action_id UUID REFERENCES app.actions(id), -- NULL if custom per-app

  -- Override settings (if action_id is set)
  -- Or full definition (if action_id is NULL - custom tool)
  name TEXT,
  tool_name TEXT,
  description TEXT,
  url TEXT,
  method http_method,
  headers JSONB,
  query_params JSONB,
  body_params JSONB,

  -- Variables specific to this app
  variables JSONB DEFAULT '{}',

  is_active BOOLEAN DEFAULT TRUE,
  ordinal INT DEFAULT 0,

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW(),

  UNIQUE(application_id, action_id)
);

-- app.integrations (was ApplicationIntegration)
-- As the seed says, this one table holds all three kinds of integrations: the
-- ApplicationIntegration rows ('mcp', 'oauth', 'api_key'), SlackInstallation as rows of type
-- 'slack' and the deduplicated (chat database) WhatsAppConfig as rows of type 'whatsapp',
-- each kind's details in `config`. The three legacy tables are union feeds of this table
-- (config/chipp/mappings/main.yaml and chat.yaml); their keys come from distinct UUID
-- namespaces, so their rows never collide. integration_type (01_schemas_and_enums.sql)
-- includes the 'slack' and 'whatsapp' labels.
CREATE TABLE app.integrations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL REFERENCES app.applications(id),

  -- Type
  type integration_type NOT NULL, -- 'mcp', 'oauth', 'api_key', 'slack', 'whatsapp'
  name TEXT NOT NULL,

  -- Connection details (type-specific)
  config JSONB NOT NULL DEFAULT '{}',

  -- Status
  is_active BOOLEAN DEFAULT TRUE,
  last_verified_at TIMESTAMPTZ,

  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);
