-- Legacy fixture: Chipp's MAIN MySQL database (seed 000, "Main MySQL: core business logic"),
-- as Prisma generates it: camelCase columns, INT AUTO_INCREMENT ids for the old core models,
-- cuid VARCHAR(191) ids for the newer ones, DATETIME(3), TINYINT(1) booleans, inline ENUMs,
-- JSON (an alias of LONGTEXT with a JSON_VALID check on MariaDB).
--
-- Only the tables the unified schema needs (and the deprecated ones it must drop on purpose)
-- are here, not all 93 models. Enum labels and columns the seed does not spell out are
-- assumptions of this fixture: `replicator mapping validate` checks the mappings against the
-- real catalog (unmapped columns, enum labels missing from a value map).
--
-- No FOREIGN KEY constraints: the Prisma schema uses relationMode = "prisma" (Vitess style),
-- so relations exist only as indexed columns and orphans are possible. The same is true
-- across the three databases, which never had foreign keys between them.
--
-- Statements are separated by semicolons, so none appear inside comments or literals.

-- Not launched yet (0 active) but Organization.whitelabelTenantId points at it
CREATE TABLE IF NOT EXISTS `WhitelabelTenant` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(191) NOT NULL,
  `domain` VARCHAR(191) NULL,
  `config` JSON NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `WhitelabelTenant_domain_key` (`domain`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `Organization` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(191) NOT NULL,
  `slug` VARCHAR(191) NULL,
  `pictureUrl` VARCHAR(191) NULL,
  `stripeCustomerId` VARCHAR(191) NULL,
  `stripeSubscriptionId` VARCHAR(191) NULL,
  `subscriptionTier` ENUM('FREE', 'PRO', 'TEAM', 'BUSINESS', 'ENTERPRISE') NOT NULL DEFAULT 'FREE',
  `subscriptionPeriod` ENUM('MONTHLY', 'YEARLY') NOT NULL DEFAULT 'MONTHLY',
  `subscriptionStatus` ENUM('ACTIVE', 'PAST_DUE', 'UNPAID', 'INCOMPLETE', 'INCOMPLETE_EXPIRED', 'CANCELED', 'TRIALING') NULL,
  `trialEndsAt` DATETIME(3) NULL,
  `currentPeriodStart` DATETIME(3) NULL,
  `currentPeriodEnd` DATETIME(3) NULL,
  `canceledAt` DATETIME(3) NULL,
  `usageBasedBillingEnabled` TINYINT(1) NOT NULL DEFAULT 0,
  `creditsExhausted` TINYINT(1) NOT NULL DEFAULT 0,
  `creditBalanceUsd` DECIMAL(12, 2) NOT NULL DEFAULT 0.00,
  `lifetimeUsageUsd` DECIMAL(14, 4) NOT NULL DEFAULT 0.0000,
  `lastLowBalanceWarningAt` DATETIME(3) NULL,
  `featureFlags` JSON NULL,
  `whitelabelTenantId` INT NULL,
  `deletedAt` DATETIME(3) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `Organization_slug_key` (`slug`),
  UNIQUE KEY `Organization_stripeCustomerId_key` (`stripeCustomerId`),
  KEY `Organization_whitelabelTenantId_idx` (`whitelabelTenantId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `Workspace` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `organizationId` INT NOT NULL,
  `name` VARCHAR(191) NOT NULL,
  `slug` VARCHAR(191) NOT NULL,
  `pictureUrl` VARCHAR(191) NULL,
  `visibility` ENUM('PRIVATE', 'PUBLIC') NOT NULL DEFAULT 'PRIVATE',
  -- WorkspaceTier: removed by the seed (the organization's tier is the only tier)
  `tier` ENUM('FREE', 'PRO', 'TEAM') NOT NULL DEFAULT 'FREE',
  `maxSeats` INT NULL,
  `isDeleted` TINYINT(1) NOT NULL DEFAULT 0,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `Workspace_organizationId_slug_key` (`organizationId`, `slug`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `Developer` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `email` VARCHAR(191) NOT NULL,
  `name` VARCHAR(191) NULL,
  `pictureUrl` VARCHAR(191) NULL,
  `username` VARCHAR(191) NULL,
  `password` VARCHAR(191) NULL,
  `emailVerified` TINYINT(1) NOT NULL DEFAULT 0,
  `resetToken` VARCHAR(191) NULL,
  `resetTokenExpiry` DATETIME(3) NULL,
  `magicLinkToken` VARCHAR(191) NULL,
  `magicLinkTokenExpiry` DATETIME(3) NULL,
  `stripeCustomerId` VARCHAR(191) NULL,
  `stripeSubscriptionId` VARCHAR(191) NULL,
  `stripeAccountId` VARCHAR(191) NULL,
  `stripeOnboardingComplete` TINYINT(1) NOT NULL DEFAULT 0,
  `subscriptionTier` ENUM('FREE', 'PRO', 'TEAM', 'BUSINESS', 'ENTERPRISE') NULL,
  `subscriptionPeriod` ENUM('MONTHLY', 'YEARLY') NULL,
  `isUsageBasedSubscription` TINYINT(1) NOT NULL DEFAULT 0,
  `acquisitionSource` VARCHAR(191) NULL,
  `acquisitionReferrerUrl` TEXT NULL,
  `hasCompletedOnboarding` TINYINT(1) NOT NULL DEFAULT 0,
  `hasSeenBuilderTour` TINYINT(1) NOT NULL DEFAULT 0,
  `activeWorkspaceId` INT NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `Developer_email_key` (`email`),
  UNIQUE KEY `Developer_username_key` (`username`),
  KEY `Developer_activeWorkspaceId_idx` (`activeWorkspaceId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 639 rows: a mostly empty duplicate of Developer fields (seed, production analysis)
CREATE TABLE IF NOT EXISTS `DeveloperCredentials` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `developerId` INT NOT NULL,
  `password` VARCHAR(191) NULL,
  `isSuperAdmin` TINYINT(1) NOT NULL DEFAULT 0,
  `zapierAccessToken` VARCHAR(191) NULL,
  `otpCode` VARCHAR(16) NULL,
  `otpCodeExpiry` DATETIME(3) NULL,
  `stripeCustomerId` VARCHAR(191) NULL,
  `stripeSubscriptionId` VARCHAR(191) NULL,
  `subscriptionTier` ENUM('FREE', 'PRO', 'TEAM', 'BUSINESS', 'ENTERPRISE') NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `DeveloperCredentials_developerId_key` (`developerId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `OrganizationMember` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `organizationId` INT NOT NULL,
  `developerId` INT NOT NULL,
  `role` ENUM('OWNER', 'EDITOR', 'VIEWER') NOT NULL DEFAULT 'VIEWER',
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `OrganizationMember_organizationId_developerId_key` (`organizationId`, `developerId`),
  KEY `OrganizationMember_developerId_idx` (`developerId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `WorkspaceMember` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `workspaceId` INT NOT NULL,
  `developerId` INT NOT NULL,
  -- DeveloperRole: renamed workspace_role by the seed
  `role` ENUM('OWNER', 'EDITOR', 'VIEWER') NOT NULL DEFAULT 'VIEWER',
  `joinedViaInvite` TINYINT(1) NOT NULL DEFAULT 0,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `WorkspaceMember_workspaceId_developerId_key` (`workspaceId`, `developerId`),
  KEY `WorkspaceMember_developerId_idx` (`developerId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Old app grouping (NOT ActionCollection): 59 active, deprecated by the seed
CREATE TABLE IF NOT EXISTS `Collection` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `developerId` INT NOT NULL,
  `name` VARCHAR(191) NOT NULL,
  `slug` VARCHAR(191) NULL,
  `description` TEXT NULL,
  `brandStyles` JSON NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `Collection_developerId_idx` (`developerId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `Application` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `workspaceId` INT NOT NULL,
  `developerId` INT NOT NULL,
  `collectionId` INT NULL,
  `name` VARCHAR(191) NOT NULL,
  `description` TEXT NULL,
  `slug` VARCHAR(191) NULL,
  `startingMessage` TEXT NULL,
  `inputPlaceholder` VARCHAR(191) NULL,
  `disclaimerText` TEXT NULL,
  `publishState` ENUM('ONLY_ME', 'WITH_LINK', 'ECOSYSTEM') NOT NULL DEFAULT 'ONLY_ME',
  `chatType` ENUM('AssistantAPI', 'Prompt', 'ChippHosted') NOT NULL DEFAULT 'ChippHosted',
  `language` ENUM('EN', 'ES', 'FR', 'DE', 'PT', 'ZH', 'JA', 'KO', 'AR', 'HI') NOT NULL DEFAULT 'EN',
  `textDirection` ENUM('LTR', 'RTL') NOT NULL DEFAULT 'LTR',
  `currency` ENUM('USD', 'EUR', 'GBP', 'BRL', 'INR') NOT NULL DEFAULT 'USD',
  `ragRelevanceThreshold` DECIMAL(4, 3) NULL,
  `ragMaxChunks` INT NULL,
  `ragUseHybridSearch` TINYINT(1) NULL,
  `ragDocumentWeight` DECIMAL(4, 3) NULL,
  `phoneNumber` VARCHAR(32) NULL,
  `defaultInteractionMethod` ENUM('CHAT', 'VOICE') NOT NULL DEFAULT 'CHAT',
  `lastPublishedAt` DATETIME(3) NULL,
  `authDisabledForPlayground` TINYINT(1) NOT NULL DEFAULT 0,
  `monetizationEnabled` TINYINT(1) NOT NULL DEFAULT 0,
  `brandStyles` JSON NULL,
  `customDomain` VARCHAR(191) NULL,
  `customDomainSSLVerified` TINYINT(1) NOT NULL DEFAULT 0,
  `customCss` TEXT NULL,
  `customComponents` JSON NULL,
  `isDeleted` TINYINT(1) NOT NULL DEFAULT 0,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `Application_workspaceId_slug_key` (`workspaceId`, `slug`),
  UNIQUE KEY `Application_customDomain_key` (`customDomain`),
  KEY `Application_developerId_idx` (`developerId`),
  KEY `Application_collectionId_idx` (`collectionId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 78 million rows, 97 percent anonymous (identifier + credits only)
CREATE TABLE IF NOT EXISTS `Consumer` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `applicationId` INT NOT NULL,
  `collectionId` INT NULL,
  `identifier` VARCHAR(191) NOT NULL,
  `mode` ENUM('TEST', 'LIVE') NOT NULL DEFAULT 'LIVE',
  `credits` INT NOT NULL DEFAULT 0,
  `name` VARCHAR(191) NULL,
  `email` VARCHAR(191) NULL,
  `pictureUrl` VARCHAR(191) NULL,
  `password` VARCHAR(191) NULL,
  `emailVerified` TINYINT(1) NOT NULL DEFAULT 0,
  `resetToken` VARCHAR(191) NULL,
  `resetTokenExpiry` DATETIME(3) NULL,
  `magicLinkToken` VARCHAR(191) NULL,
  `magicLinkTokenExpiry` DATETIME(3) NULL,
  `subscriptionActive` TINYINT(1) NOT NULL DEFAULT 0,
  `stripeCustomerId` VARCHAR(191) NULL,
  `customInstructions` TEXT NULL,
  `deletedAt` DATETIME(3) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `Consumer_applicationId_identifier_mode_key` (`applicationId`, `identifier`, `mode`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- User memory (seed 2.2, target chat.user_memories). A newer model: cuid id. It points at
-- the chat database (source session and message), which has no foreign keys to it.
CREATE TABLE IF NOT EXISTS `UserMemory` (
  `id` VARCHAR(191) NOT NULL,
  `applicationId` INT NOT NULL,
  `consumerId` INT NOT NULL,
  `category` ENUM('FACT', 'PREFERENCE', 'PERSONAL', 'INSIGHT', 'QUERY', 'OTHER') NOT NULL,
  `content` TEXT NOT NULL,
  `confidence` DOUBLE NOT NULL DEFAULT 1,
  `sourceChatSessionId` VARCHAR(191) NULL,
  `sourceMessageId` VARCHAR(191) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `UserMemory_applicationId_consumerId_idx` (`applicationId`, `consumerId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Knowledge sources (5.9M rows, renamed KnowledgeSource by the seed)
CREATE TABLE IF NOT EXISTS `ApplicationAssistantFile` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `applicationId` INT NOT NULL,
  `name` VARCHAR(191) NOT NULL,
  `displayName` VARCHAR(191) NULL,
  `type` ENUM('FILE', 'URL', 'YOUTUBE', 'SPREADSHEET', 'API', 'NOTION', 'GOOGLE_DRIVE', 'SHAREPOINT', 'AUDIO') NOT NULL,
  `url` TEXT NULL,
  `size` BIGINT NULL,
  `status` ENUM('PENDING', 'PROCESSING', 'COMPLETE', 'ERROR') NOT NULL DEFAULT 'PENDING',
  `ragMode` ENUM('CHUNKS', 'SUMMARY', 'HYBRID') NOT NULL DEFAULT 'CHUNKS',
  `lastRefreshedAt` DATETIME(3) NULL,
  `refreshIntervalHours` INT NULL,
  `metadata` JSON NULL,
  -- OpenAI Assistants API file id (chatType AssistantAPI era), not in the unified model
  `openaiFileId` VARCHAR(191) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `ApplicationAssistantFile_applicationId_idx` (`applicationId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Duplicate of the PostgreSQL textchunk table: removed by the seed
CREATE TABLE IF NOT EXISTS `FileTextchunk` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `assistantFileId` INT NOT NULL,
  `text` LONGTEXT NOT NULL,
  `embedding` JSON NULL,
  `chunkIndex` INT NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `FileTextchunk_assistantFileId_idx` (`assistantFileId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 1.5M records, active billing
CREATE TABLE IF NOT EXISTS `TokenUsage` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `organizationId` INT NOT NULL,
  `applicationId` INT NULL,
  `developerId` INT NULL,
  `chatSessionId` VARCHAR(191) NULL,
  `messageId` VARCHAR(191) NULL,
  `model` VARCHAR(191) NOT NULL,
  `inputTokens` INT NOT NULL DEFAULT 0,
  `outputTokens` INT NOT NULL DEFAULT 0,
  `totalTokens` INT NOT NULL DEFAULT 0,
  `costUsd` DECIMAL(14, 8) NOT NULL DEFAULT 0,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `TokenUsage_organizationId_createdAt_idx` (`organizationId`, `createdAt`),
  KEY `TokenUsage_applicationId_idx` (`applicationId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Shared action collections: 10 rows, very low adoption
CREATE TABLE IF NOT EXISTS `ActionCollection` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `workspaceId` INT NULL,
  `developerId` INT NOT NULL,
  `name` VARCHAR(191) NOT NULL,
  `slug` VARCHAR(191) NOT NULL,
  `description` TEXT NULL,
  `sharingScope` ENUM('PRIVATE', 'WORKSPACE', 'PUBLIC') NOT NULL DEFAULT 'PRIVATE',
  `icon` VARCHAR(191) NULL,
  `coverImage` VARCHAR(191) NULL,
  `tags` JSON NULL,
  `installCount` INT NOT NULL DEFAULT 0,
  `reviewStatus` ENUM('PENDING', 'APPROVED', 'REJECTED') NOT NULL DEFAULT 'PENDING',
  `reviewedAt` DATETIME(3) NULL,
  `reviewedById` INT NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `ActionCollection_workspaceId_slug_key` (`workspaceId`, `slug`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Actions in collections: 91 rows
CREATE TABLE IF NOT EXISTS `ActionTemplate` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `collectionId` INT NOT NULL,
  `name` VARCHAR(191) NOT NULL,
  `toolName` VARCHAR(191) NOT NULL,
  `description` TEXT NULL,
  `toolDescription` TEXT NULL,
  `url` TEXT NOT NULL,
  `method` ENUM('GET', 'POST', 'PUT', 'PATCH', 'DELETE') NOT NULL DEFAULT 'GET',
  `headers` JSON NULL,
  `queryParams` JSON NULL,
  `bodyParams` JSON NULL,
  `pathParams` JSON NULL,
  `requestSchema` JSON NULL,
  `responseSchema` JSON NULL,
  `authType` ENUM('NONE', 'API_KEY', 'OAUTH', 'BASIC', 'BEARER', 'CUSTOM') NOT NULL DEFAULT 'NONE',
  `authConfig` JSON NULL,
  `timeoutMs` INT NOT NULL DEFAULT 30000,
  `isClientSide` TINYINT(1) NOT NULL DEFAULT 0,
  `presentTenseVerb` VARCHAR(191) NULL,
  `pastTenseVerb` VARCHAR(191) NULL,
  `ordinal` INT NOT NULL DEFAULT 0,
  `isActive` TINYINT(1) NOT NULL DEFAULT 1,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `ActionTemplate_collectionId_idx` (`collectionId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Per-app tools: 1,309 rows, active. actionTemplateId is set when the tool was installed
-- from a collection, NULL for a custom per-app tool.
CREATE TABLE IF NOT EXISTS `UserDefinedTool` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `applicationId` INT NOT NULL,
  `actionTemplateId` INT NULL,
  `name` VARCHAR(191) NULL,
  `toolName` VARCHAR(191) NULL,
  `description` TEXT NULL,
  `url` TEXT NULL,
  `method` ENUM('GET', 'POST', 'PUT', 'PATCH', 'DELETE') NULL,
  `headers` JSON NULL,
  `queryParams` JSON NULL,
  `bodyParams` JSON NULL,
  `variables` JSON NULL,
  `isActive` TINYINT(1) NOT NULL DEFAULT 1,
  `ordinal` INT NOT NULL DEFAULT 0,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `UserDefinedTool_applicationId_actionTemplateId_key` (`applicationId`, `actionTemplateId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 174 active
CREATE TABLE IF NOT EXISTS `ApplicationIntegration` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `applicationId` INT NOT NULL,
  `type` ENUM('MCP', 'OAUTH', 'API_KEY') NOT NULL,
  `name` VARCHAR(191) NOT NULL,
  `config` JSON NULL,
  `isActive` TINYINT(1) NOT NULL DEFAULT 1,
  `lastVerifiedAt` DATETIME(3) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `ApplicationIntegration_applicationId_idx` (`applicationId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The MAIN copy: 0 active, stale ("Wrong DB!"). The chat database copy is the real one.
CREATE TABLE IF NOT EXISTS `WhatsAppConfig` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `applicationId` INT NOT NULL,
  `phoneNumber` VARCHAR(32) NULL,
  `phoneNumberId` VARCHAR(191) NULL,
  `businessAccountId` VARCHAR(191) NULL,
  `accessToken` TEXT NULL,
  `webhookVerifyToken` VARCHAR(191) NULL,
  `isActive` TINYINT(1) NOT NULL DEFAULT 0,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `WhatsAppConfig_applicationId_key` (`applicationId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 48 rows
CREATE TABLE IF NOT EXISTS `SlackInstallation` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `applicationId` INT NOT NULL,
  `teamId` VARCHAR(191) NOT NULL,
  `teamName` VARCHAR(191) NULL,
  `botUserId` VARCHAR(191) NULL,
  `botToken` TEXT NOT NULL,
  `scope` TEXT NULL,
  `installedBySlackUserId` VARCHAR(191) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `SlackInstallation_teamId_applicationId_key` (`teamId`, `applicationId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 1,542 active. status DELETED is the legacy soft delete of this table.
CREATE TABLE IF NOT EXISTS `LeadGenerationForm` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `applicationId` INT NOT NULL,
  `title` VARCHAR(191) NOT NULL,
  `description` TEXT NULL,
  `fields` JSON NOT NULL,
  `submitButtonText` VARCHAR(191) NULL,
  -- LeadGenerationTiming has one value only (START): removed by the seed
  `timing` ENUM('START') NOT NULL DEFAULT 'START',
  `status` ENUM('ACTIVE', 'PAUSED', 'DELETED') NOT NULL DEFAULT 'ACTIVE',
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `LeadGenerationForm_applicationId_idx` (`applicationId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Tag definitions (218 enabled). Messages in the chat database hold tag ids in Message.tagIds.
CREATE TABLE IF NOT EXISTS `MessageTag` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `applicationId` INT NOT NULL,
  `name` VARCHAR(191) NOT NULL,
  `description` TEXT NULL,
  `color` VARCHAR(16) NULL,
  `isEnabled` TINYINT(1) NOT NULL DEFAULT 1,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `MessageTag_applicationId_name_key` (`applicationId`, `name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- New feature (263 rows), kept. A newer model: cuid id.
CREATE TABLE IF NOT EXISTS `VideoGenerationJob` (
  `id` VARCHAR(191) NOT NULL,
  `applicationId` INT NOT NULL,
  `consumerId` INT NULL,
  `prompt` TEXT NOT NULL,
  `status` ENUM('QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELED') NOT NULL DEFAULT 'QUEUED',
  `provider` VARCHAR(64) NULL,
  `providerJobId` VARCHAR(191) NULL,
  `resultUrl` TEXT NULL,
  `errorMessage` TEXT NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `VideoGenerationJob_applicationId_idx` (`applicationId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
