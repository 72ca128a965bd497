-- Target 01: extension, schemas and enum types of the unified Chipp database.
-- The seed's scripts/migrate/01-create-schemas.sql and 02-create-enums.sql in one file.
-- Files 01 to 04 apply in order to an empty PostgreSQL 18 + pgvector 0.8 database.
--
-- Enum types live in the default schema (public), unqualified, as in the seed.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE SCHEMA IF NOT EXISTS app;       -- core business entities
CREATE SCHEMA IF NOT EXISTS chat;      -- chat sessions and messages
CREATE SCHEMA IF NOT EXISTS rag;       -- embeddings and knowledge sources
CREATE SCHEMA IF NOT EXISTS billing;   -- stripe, subscriptions, credits
CREATE SCHEMA IF NOT EXISTS internal;  -- jobs (the chipp_* issue tracker is NOT migrated, see 04)

-- Core
CREATE TYPE subscription_tier AS ENUM ('FREE', 'PRO', 'TEAM', 'BUSINESS', 'ENTERPRISE');
CREATE TYPE subscription_period AS ENUM ('MONTHLY', 'YEARLY');
CREATE TYPE subscription_status AS ENUM ('ACTIVE', 'PAST_DUE', 'CANCELED', 'TRIALING');
CREATE TYPE environment_mode AS ENUM ('TEST', 'LIVE');

-- Publishing
CREATE TYPE publish_state AS ENUM ('ONLY_ME', 'WITH_LINK', 'ECOSYSTEM');
CREATE TYPE chat_type AS ENUM ('AssistantAPI', 'Prompt', 'ChippHosted');

-- RAG
CREATE TYPE knowledge_source_type AS ENUM (
  'FILE', 'URL', 'YOUTUBE', 'SPREADSHEET', 'API',
  'NOTION', 'GOOGLE_DRIVE', 'SHAREPOINT', 'AUDIO'
);
CREATE TYPE knowledge_source_status AS ENUM ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED');
CREATE TYPE rag_mode AS ENUM ('CHUNKS', 'SUMMARY', 'HYBRID');

-- Chat
CREATE TYPE chat_source AS ENUM ('APP', 'API', 'WHATSAPP', 'SLACK', 'EMAIL', 'VOICE');
CREATE TYPE sender_type AS ENUM ('USER', 'BOT', 'SYSTEM');
CREATE TYPE message_type AS ENUM ('TEXT', 'IMAGE', 'FILE', 'AUDIO', 'VIDEO');
CREATE TYPE memory_category AS ENUM ('FACTS', 'PREFERENCES', 'INSIGHTS', 'QUERIES', 'OTHER');

-- Localization
CREATE TYPE language AS ENUM ('EN', 'ES', 'FR', 'DE', 'PT', 'ZH', 'JA', 'KO', 'AR', 'HI');
CREATE TYPE text_direction AS ENUM ('LTR', 'RTL');
CREATE TYPE currency AS ENUM ('USD', 'EUR', 'GBP', 'BRL', 'INR');

-- Actions
CREATE TYPE http_method AS ENUM ('GET', 'POST', 'PUT', 'PATCH', 'DELETE');
CREATE TYPE action_auth_type AS ENUM ('NONE', 'API_KEY', 'OAUTH2', 'BASIC', 'BEARER', 'CUSTOM');
CREATE TYPE sharing_scope AS ENUM ('PRIVATE', 'WORKSPACE', 'PUBLIC');
CREATE TYPE review_status AS ENUM ('PENDING', 'APPROVED', 'REJECTED');

-- Voice
CREATE TYPE interaction_method AS ENUM ('CHAT', 'VOICE');
CREATE TYPE voice_flavor AS ENUM ('ALLOY', 'ASH', 'CORAL', 'ECHO', 'SAGE', 'SHIMMER');

-- Jobs
CREATE TYPE job_status AS ENUM ('PENDING', 'ACTIVE', 'COMPLETE', 'ERROR', 'CANCELLED');

-- CORRECTION: the seed's app.integrations uses `type integration_type NOT NULL` but its enum
-- list never creates integration_type, so the table could not be created. The labels are
-- the ones the seed's comment on that column gives ('mcp', 'oauth', 'api_key', 'slack',
-- 'whatsapp'), lower case as written there. 'slack' and 'whatsapp' are needed: the table
-- holds SlackInstallation and WhatsAppConfig rows too (02_app.sql).
CREATE TYPE integration_type AS ENUM ('mcp', 'oauth', 'api_key', 'slack', 'whatsapp');

-- CORRECTION: the seed says "DeveloperRole - rename to workspace_role" but never creates
-- workspace_role, and keeps WorkspaceMember/OrganizationMember (active, 23,673 and 19,794
-- rows) without defining their tables. The labels are the legacy DeveloperRole's. Both
-- membership tables use it (the legacy tables share DeveloperRole).
CREATE TYPE workspace_role AS ENUM ('OWNER', 'EDITOR', 'VIEWER');

-- CORRECTION: workspace_visibility is NOT created. The seed's app.workspaces uses it, but
-- its enum list does not create it and its "Remove" list says "WorkspaceVisibility -
-- simplify to boolean is_private": app.workspaces has is_private instead (02_app.sql).
