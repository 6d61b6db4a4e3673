/**
 * A fake CloudFormation endpoint on loopback (the AWS query protocol: form-encoded request, XML answer), for
 * the one call the CLI makes: DescribeStacks. CloudFormation is a control plane that cannot run here.
 */
import { createServer } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface FakeCloudFormation {
  readonly url: string;
  readonly calls: string[];
  close(): Promise<void>;
}

export async function startFakeCloudFormation(
  stacks: Record<string, Record<string, string>>,
): Promise<FakeCloudFormation> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      calls.push(`${form.get('Action')} ${form.get('StackName')}`);
      const name = form.get('StackName') ?? '';
      const outputs = stacks[name];
      if (form.get('Action') !== 'DescribeStacks' || outputs === undefined) {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r1</RequestId></ErrorResponse>`,
        );
        return;
      }
      const members = Object.entries(outputs)
        .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
        .join('');
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1</StackId><CreationTime>2026-11-24T10:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  const listening = await listenOnLoopback(server);
  return { url: listening.origin, calls, close: listening.close };
}
