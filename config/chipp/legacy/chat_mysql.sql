-- Legacy fixture: Chipp's CHAT MySQL database (seed 000, "Chat MySQL: message storage"),
-- in Prisma's style: cuid VARCHAR(191) ids, camelCase, DATETIME(3), TINYINT(1), ENUM, JSON.
-- Four of its 9 models: the ones the unified schema needs, plus its copy of WhatsAppConfig,
-- which is the authoritative one (28 active, the main database copy has 0).
--
-- applicationId and consumerId hold ids of the MAIN database (Application, Consumer): two
-- databases, so no foreign keys, and orphans are possible. Within the database the Prisma
-- relationMode is "prisma" as well (indexed columns, no FOREIGN KEY constraints).
--
-- Statements are separated by semicolons, so none appear inside comments or literals.

-- 10.2M rows, 98 percent from APP
CREATE TABLE IF NOT EXISTS `ChatSession` (
  `id` VARCHAR(191) NOT NULL,
  `applicationId` INT NOT NULL,
  `consumerId` INT NULL,
  `source` ENUM('APP', 'API', 'WHATSAPP', 'SLACK', 'EMAIL', 'VOICE') NULL DEFAULT 'APP',
  `phoneNumber` VARCHAR(32) NULL,
  `title` VARCHAR(191) NULL,
  `isPublic` TINYINT(1) NOT NULL DEFAULT 0,
  -- OpenAI Assistants API thread (chatType AssistantAPI era), kept in the session metadata
  `threadId` VARCHAR(191) NULL,
  `isDeleted` TINYINT(1) NOT NULL DEFAULT 0,
  `deletedAt` DATETIME(3) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `ChatSession_applicationId_updatedAt_idx` (`applicationId`, `updatedAt`),
  KEY `ChatSession_consumerId_idx` (`consumerId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 11.2M rows. tagIds: a JSON array of MessageTag ids (main database).
CREATE TABLE IF NOT EXISTS `Message` (
  `id` VARCHAR(191) NOT NULL,
  `chatSessionId` VARCHAR(191) NOT NULL,
  `senderType` ENUM('USER', 'BOT', 'SYSTEM') NOT NULL,
  `senderId` VARCHAR(191) NULL,
  `content` LONGTEXT NOT NULL,
  `contentType` ENUM('TEXT', 'IMAGE', 'FILE', 'AUDIO', 'VIDEO') NOT NULL DEFAULT 'TEXT',
  `modelUsed` VARCHAR(191) NULL,
  `tagIds` JSON NULL,
  `metadata` JSON NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `Message_chatSessionId_createdAt_idx` (`chatSessionId`, `createdAt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Files attached to messages. messageId stays NULL while an upload is not yet sent.
CREATE TABLE IF NOT EXISTS `File` (
  `id` VARCHAR(191) NOT NULL,
  `messageId` VARCHAR(191) NULL,
  `chatSessionId` VARCHAR(191) NULL,
  `name` VARCHAR(191) NOT NULL,
  `type` VARCHAR(191) NULL,
  `size` INT NULL,
  `url` TEXT NULL,
  `persistentUrl` TEXT NULL,
  `expiresAt` DATETIME(3) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `File_messageId_idx` (`messageId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The CHAT copy: the real one (28 active)
CREATE TABLE IF NOT EXISTS `WhatsAppConfig` (
  `id` VARCHAR(191) NOT NULL,
  `applicationId` INT NOT NULL,
  `phoneNumber` VARCHAR(32) NULL,
  `phoneNumberId` VARCHAR(191) NOT NULL,
  `businessAccountId` VARCHAR(191) NULL,
  `accessToken` TEXT NOT NULL,
  `webhookVerifyToken` VARCHAR(191) NULL,
  `isActive` TINYINT(1) NOT NULL DEFAULT 1,
  `lastVerifiedAt` DATETIME(3) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `WhatsAppConfig_applicationId_key` (`applicationId`),
  UNIQUE KEY `WhatsAppConfig_phoneNumberId_key` (`phoneNumberId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
