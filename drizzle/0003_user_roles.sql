CREATE TABLE `user_roles` (
	`user_id` text NOT NULL,
	`role` text NOT NULL,
	`granted_at` integer NOT NULL,
	`granted_by` text,
	PRIMARY KEY(`user_id`, `role`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `auth_events` ADD `actor_id` text;--> statement-breakpoint
-- Data (written by hand, not generated): every existing user keeps its role from `users.role` and,
-- like every new user, gets the role "user" too; `granted_by` 'migration' marks these rows.
-- `users.role` itself stays (no longer read) so that a rollback to the previous release still works.
INSERT OR IGNORE INTO `user_roles` (`user_id`, `role`, `granted_at`, `granted_by`)
  SELECT `id`, `role`, `created_at`, 'migration' FROM `users`;--> statement-breakpoint
INSERT OR IGNORE INTO `user_roles` (`user_id`, `role`, `granted_at`, `granted_by`)
  SELECT `id`, 'user', `created_at`, 'migration' FROM `users`;
