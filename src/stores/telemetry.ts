/**
 * Per-refresh telemetry in a Workers Analytics Engine dataset (binding `REFRESH_TELEMETRY`).
 * `writeDataPoint` returns at once and the runtime sends the point after the response; the field
 * layout (what SQL queries read as blob1, double1, index1...) is documented in docs/storage.md.
 */
import type { RefreshDataPoint, RefreshTelemetry } from "./types";

export function analyticsTelemetry(dataset: AnalyticsEngineDataset | undefined): RefreshTelemetry {
  if (!dataset) return { record: () => undefined };
  return {
    record(point: RefreshDataPoint) {
      try {
        dataset.writeDataPoint({
          indexes: [point.userId ?? ""],
          blobs: [point.outcome, point.clientId ?? "", point.familyId ?? "", point.ip ?? "", point.userAgent?.slice(0, 256) ?? ""],
          doubles: [point.generation ?? -1],
        });
      } catch {
        // Telemetry never fails a refresh.
      }
    },
  };
}
