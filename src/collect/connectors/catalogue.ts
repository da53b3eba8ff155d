import type { TSchema } from '@sinclair/typebox';
import { CONNECTORS } from './registry.js';
import type { ConfigFieldText, ConnectorDefinition } from './types.js';

/**
 * The connectors Pulseloop ships as the API and the dashboard present them: names in both languages,
 * streams with their schedule, and each setting's type, default and limits (read from the connector's
 * settings schema) with its label (declared next to the schema in the connector's definition).
 */

export interface ConfigFieldInfo {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean';
  /** The connector cannot run without it (no default). */
  required: boolean;
  default?: string | number | boolean;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  label: { en: string; zh: string };
  hint?: { en: string; zh: string };
}

export interface ConnectorInfo {
  id: string;
  platform: string;
  name: { en: string; zh: string };
  streams: Array<{ name: string; table: string; scheduleIntervalSeconds: number }>;
  configFields: ConfigFieldInfo[];
}

export function describeConnector(connector: ConnectorDefinition): ConnectorInfo {
  const schema = connector.configSchema;
  const required = new Set(schema.required ?? []);
  const labels = connector.configLabels as Record<string, ConfigFieldText>;
  return {
    id: connector.id,
    platform: connector.platform,
    name: connector.title,
    streams: connector.streams.map((s) => ({
      name: s.name,
      table: s.table,
      scheduleIntervalSeconds: s.scheduleIntervalSeconds,
    })),
    configFields: Object.entries(schema.properties as Record<string, TSchema>).map(([name, field]) => {
      const label = labels[name] ?? { en: name, zh: name };
      return {
        name,
        type: field.type as ConfigFieldInfo['type'],
        required: required.has(name) && field.default === undefined,
        ...(field.default !== undefined && { default: field.default }),
        ...(field.pattern !== undefined && { pattern: field.pattern }),
        ...(field.minimum !== undefined && { minimum: field.minimum }),
        ...(field.maximum !== undefined && { maximum: field.maximum }),
        label: { en: label.en, zh: label.zh },
        ...(label.hint && { hint: label.hint }),
      };
    }),
  };
}

/** Every connector, described. */
export function connectorCatalogue(): ConnectorInfo[] {
  return CONNECTORS.map(describeConnector);
}
