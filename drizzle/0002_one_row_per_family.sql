ALTER TABLE `sessions` ADD `client_id` text DEFAULT 'web' NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `generation` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `token_hash` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `previous_hash` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `sealed_token` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `rotated_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Data: each live family takes over its current refresh token (the newest unused, unexpired one) as
-- generation 0, and its parent's hash and sealed copy for the grace window. Older tokens stay in
-- refresh_tokens (now read-only) so that their replay is still recognised until they expire.
UPDATE `sessions` SET `rotated_at` = coalesce((SELECT max(`created_at`) FROM `refresh_tokens` WHERE `session_id` = `sessions`.`id`), `created_at`);--> statement-breakpoint
UPDATE `sessions` SET `token_hash` = (
  SELECT `token_hash` FROM `refresh_tokens` WHERE `session_id` = `sessions`.`id` AND `used_at` IS NULL
  ORDER BY `created_at` DESC LIMIT 1
);--> statement-breakpoint
UPDATE `sessions` SET (`previous_hash`, `sealed_token`) = (
  SELECT `parent`.`token_hash`, `parent`.`sealed_child` FROM `refresh_tokens` AS `parent`
  JOIN `refresh_tokens` AS `child` ON `child`.`id` = `parent`.`child_id`
  WHERE `child`.`session_id` = `sessions`.`id` AND `child`.`token_hash` = `sessions`.`token_hash`
) WHERE `token_hash` IS NOT NULL;
