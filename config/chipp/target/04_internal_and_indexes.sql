-- Target 04: the internal schema and every secondary index (the seed's
-- scripts/migrate/04-create-indexes.sql). Primary keys, UNIQUE constraints and foreign keys
-- are with their tables in 02 and 03. On a full backfill, applying this file after the
-- initial load (CREATE INDEX CONCURRENTLY, one statement at a time) is much faster than
-- maintaining the indexes row by row, above all the HNSW ones.

-- NOTE: the chipp_* issue tracker tables (chipp_issue, 1,690 issues) are NOT created here.
-- The seed: "Keep in embeddings DB or move to separate service. Don't migrate to unified
-- schema." Their mappings are `skip: true`.

-- internal.video_generation_jobs (was VideoGenerationJob, "new feature, keep"). The seed's
-- internal schema holds jobs, and its job_status enum is the jobs' status.
CREATE TABLE internal.video_generation_jobs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  application_id UUID NOT NULL,
  consumer_id UUID,
  prompt TEXT NOT NULL,
  status job_status NOT NULL DEFAULT 'PENDING',
  provider TEXT,
  provider_job_id TEXT,
  result_url TEXT,
  error_message TEXT,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- chat
CREATE INDEX idx_sessions_app_updated ON chat.sessions(application_id, updated_at DESC);
CREATE INDEX idx_sessions_consumer ON chat.sessions(consumer_id) WHERE consumer_id IS NOT NULL;
CREATE INDEX idx_messages_session ON chat.messages(session_id, created_at);
CREATE INDEX idx_messages_fulltext ON chat.messages USING gin(to_tsvector('english', content));
CREATE INDEX idx_message_files_message ON chat.message_files(message_id);
CREATE INDEX idx_memories_consumer ON chat.user_memories(application_id, consumer_id);

-- rag
CREATE INDEX idx_knowledge_sources_app ON rag.knowledge_sources(application_id);
CREATE INDEX idx_chunks_source ON rag.chunks(source_id);

-- CORRECTION: the seed's
--   CREATE INDEX idx_chunks_embedding ON rag.chunks USING ivfflat (embedding vector_cosine_ops)
-- cannot be built: pgvector's ivfflat and hnsw index at most 2,000 dimensions of `vector`
-- ("column cannot have more than 2000 dimensions for ivfflat index") and the column is
-- vector(3072). An HNSW index over the half-precision cast works (halfvec indexes up to
-- 4,000 dimensions) and keeps the stored embeddings at full precision. Queries must use the
-- same expression to hit it:
--   ORDER BY embedding::halfvec(3072) <=> $1::halfvec(3072) LIMIT k
-- (ivfflat would also need rows present to train its lists, another reason for HNSW here.)
CREATE INDEX idx_chunks_embedding ON rag.chunks
  USING hnsw ((embedding::halfvec(3072)) halfvec_cosine_ops);

-- the summaries are searched the same way (the seed has no index for them)
CREATE INDEX idx_document_summaries_embedding ON rag.document_summaries
  USING hnsw ((embedding::halfvec(3072)) halfvec_cosine_ops);

-- billing
CREATE INDEX idx_usage_org_date ON billing.usage_records(organization_id, created_at);
CREATE INDEX idx_usage_app ON billing.usage_records(application_id) WHERE application_id IS NOT NULL;
CREATE INDEX idx_subscriptions_org ON billing.subscriptions(organization_id);

-- app: foreign-key columns that no UNIQUE constraint already leads with
CREATE INDEX idx_applications_owner ON app.applications(owner_id);
CREATE INDEX idx_custom_domains_app ON app.custom_domains(application_id);
CREATE INDEX idx_org_members_user ON app.organization_members(user_id);
CREATE INDEX idx_ws_members_user ON app.workspace_members(user_id);
CREATE INDEX idx_lead_forms_app ON app.lead_generation_forms(application_id);
CREATE INDEX idx_actions_collection ON app.actions(collection_id);
CREATE INDEX idx_integrations_app ON app.integrations(application_id);
CREATE INDEX idx_video_jobs_app ON internal.video_generation_jobs(application_id);
