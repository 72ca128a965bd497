-- Legacy fixture for the first vertical slice: the main MySQL database's Developer table,
-- in the style Prisma generates (camelCase, INT AUTO_INCREMENT id, DATETIME(3), TINYINT(1)).
CREATE TABLE IF NOT EXISTS `Developer` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `email` VARCHAR(191) NOT NULL,
  `name` VARCHAR(191) NULL,
  `pictureUrl` VARCHAR(191) NULL,
  `username` VARCHAR(191) NULL,
  `hasCompletedOnboarding` TINYINT(1) NOT NULL DEFAULT 0,
  `resetToken` VARCHAR(191) NULL,
  `resetTokenExpiry` DATETIME(3) NULL,
  `magicLinkToken` VARCHAR(191) NULL,
  `stripeCustomerId` VARCHAR(191) NULL,
  `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  `updatedAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  UNIQUE KEY `Developer_email_key` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
