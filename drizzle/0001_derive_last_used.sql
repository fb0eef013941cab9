DROP INDEX `refresh_tokens_session_id_idx`;--> statement-breakpoint
CREATE INDEX `refresh_tokens_session_created_idx` ON `refresh_tokens` (`session_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `sessions` DROP COLUMN `last_used_at`;