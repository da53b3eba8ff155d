import { detailText, listDetail, PulseloopError } from '../../errors/registry.js';
import { douyinConnector } from './douyin.js';
import { oceanEngineConnector } from './oceanengine.js';
import type { ConnectorDefinition, StreamDefinition } from './types.js';

/** Every connector Pulseloop ships. */
export const CONNECTORS: ConnectorDefinition[] = [
  oceanEngineConnector as ConnectorDefinition,
  douyinConnector as ConnectorDefinition,
];

export function connectorById(id: string): ConnectorDefinition {
  const connector = CONNECTORS.find((c) => c.id === id);
  if (!connector) {
    throw new PulseloopError('connector_unknown', {
      connector: id,
      ...listDetail(
        'known',
        CONNECTORS.map((c) => c.id),
      ),
    });
  }
  return connector;
}

// biome-ignore lint/suspicious/noExplicitAny: cursors differ per stream
export function streamOf(connector: ConnectorDefinition, name: string): StreamDefinition<unknown, any> {
  const stream = connector.streams.find((s) => s.name === name);
  if (!stream) {
    const streams = connector.streams.map((s) => s.name);
    throw new PulseloopError(
      'invalid_request',
      detailText(
        `connector ${connector.id} has no stream "${name}"; it has ${streams.join(', ')}.`,
        `连接器 ${connector.id} 没有数据流 "${name}"；可用的数据流：${streams.join('、')}。`,
      ),
    );
  }
  return stream;
}
