// docs/push.md: the OTLP exporter started and shut down (nothing listens: the exporter keeps the
// program running and counts what it could not deliver).
// docs:start otlp
const client = require('footmetrics');
const exporter = client.startOtlpExporter('http://otel-collector:4317', 15000, { protocol: 'grpc', serviceName: 'api-gateway' });
// docs:end otlp
exporter.shutdown(1000).then(() => process.exit(0));
