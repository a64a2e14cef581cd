// The platform monitoring document (MONITORING.md), section "Custom Metrics > Application Metrics > Business Metrics":
// its typescript code block, reproduced verbatim below the marker line (tests strip
// everything up to and including the marker, then change only the import).
// ---- verbatim below ----
// Business metrics in Node.js
import { register, Counter, Histogram, Gauge } from 'prom-client';

// User session metrics
const userSessions = new Counter({
  name: 'user_sessions_total',
  help: 'Total number of user sessions',
  labelNames: ['status', 'plan', 'country'],
});

// Video upload metrics
const videoUploads = new Counter({
  name: 'video_uploads_total',
  help: 'Total number of video uploads',
  labelNames: ['status', 'format', 'size_category'],
});

// Analytics generation time
const analyticsGeneration = new Histogram({
  name: 'analytics_generation_duration_seconds',
  help: 'Time to generate analytics',
  labelNames: ['video_type', 'complexity'],
  buckets: [1, 5, 10, 30, 60, 300, 600],
});

// Usage example
userSessions.inc({ status: 'completed', plan: 'premium', country: 'IL' });
videoUploads.inc({ status: 'success', format: 'mp4', size_category: 'large' });
analyticsGeneration.observe({ video_type: 'match', complexity: 'high' }, 45.2);
