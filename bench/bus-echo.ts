import { z } from 'zod';
import { defineContract, defineRole } from '../protocols/role.ts';
import { ToolSpec } from '../protocols/toolspec.ts';
import { ChatMessage } from '../protocols/messages.ts';

// A realistic payload: a tool spec and a short dialogue, about 1 KB of JSON.
export const Payload = z.object({ tools: z.array(ToolSpec), messages: z.array(ChatMessage), n: z.number().int() });
export const echo = defineContract({ name: 'benchecho', verbs: { echo: { input: Payload, output: Payload } } });
export const echoRole = defineRole({ contract: echo, concurrency: 64, verbs: { echo: { handle: async (input) => input } } });

export const payload: z.input<typeof Payload> = {
  n: 0,
  tools: [
    {
      name: 'search_flights',
      description: 'Search one-way or return flights between two airports on given dates.',
      parameters: {
        type: 'object',
        properties: {
          origin: { type: 'string', description: 'IATA code of the departure airport' },
          destination: { type: 'string', description: 'IATA code of the arrival airport' },
          depart_date: { type: 'string', format: 'date', description: 'YYYY-MM-DD' },
          passengers: { type: 'integer', description: 'number of adults' },
          cabin: { type: 'string', enum: ['economy', 'premium', 'business', 'first'] },
        },
        required: ['origin', 'destination', 'depart_date'],
      },
    },
  ],
  messages: [
    { role: 'user', content: 'Find me a flight from Oslo to Lisbon on the 3rd of March 2026, two adults, economy.' },
    { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'search_flights', arguments: { origin: 'OSL', destination: 'LIS', depart_date: '2026-03-03', passengers: 2, cabin: 'economy' } }] },
    { role: 'tool', tool_call_id: 'c1', name: 'search_flights', content: '{"flights":[{"id":"TP1203","price":212.5}]}' },
  ],
};
