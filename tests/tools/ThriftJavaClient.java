/* ThriftJavaClient.java - sends numbered events to a Flume Thrift source with Apache Thrift's Java library.
 *
 * Usage: java ThriftJavaClient HOST PORT compact|binary FIRST COUNT BATCH
 *
 * Compiled at test time together with the code `thrift --gen java` generated from idl/flume.thrift
 * (package org.apache.flume.thrift) against Debian's libthrift-java. The connection is built as Flume's own
 * ThriftRpcClient builds it: a TSocket under a TFastFramedTransport, with TCompactProtocol (Flume's
 * default) or TBinaryProtocol. Events FIRST..FIRST+COUNT-1 have the decimal number as body and the headers
 * seq=<number> and client=java; they go out in groups of BATCH, even groups as one appendBatch and odd
 * groups as one append per event. Any reply but OK or any exception ends the run with status 1 (the
 * generated client itself rejects a reply whose seqid or method name does not match the call). Prints
 * "sent=N append_calls=A batch_calls=B". */
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flume.thrift.Status;
import org.apache.flume.thrift.ThriftFlumeEvent;
import org.apache.flume.thrift.ThriftSourceProtocol;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.protocol.TCompactProtocol;
import org.apache.thrift.protocol.TProtocol;
import org.apache.thrift.transport.TSocket;
import org.apache.thrift.transport.TTransport;
import org.apache.thrift.transport.layered.TFastFramedTransport;

public final class ThriftJavaClient {
  private ThriftJavaClient() {}

  private static ThriftFlumeEvent event(long number) {
    Map<String, String> headers = new HashMap<>();
    headers.put("seq", Long.toString(number));
    headers.put("client", "java");
    return new ThriftFlumeEvent(headers,
        ByteBuffer.wrap(Long.toString(number).getBytes(StandardCharsets.US_ASCII)));
  }

  private static void check(String what, Status status) {
    if (status != Status.OK) {
      throw new IllegalStateException(what + " answered " + status);
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: ThriftJavaClient HOST PORT compact|binary FIRST COUNT BATCH");
      System.exit(2);
    }
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    boolean binary = args[2].equals("binary");
    long first = Long.parseLong(args[3]);
    long count = Long.parseLong(args[4]);
    int batch = Integer.parseInt(args[5]);

    TSocket socket = new TSocket(host, port, 10000);
    TTransport transport = new TFastFramedTransport(socket);
    transport.open();
    TProtocol protocol = binary ? new TBinaryProtocol(transport) : new TCompactProtocol(transport);
    ThriftSourceProtocol.Client client = new ThriftSourceProtocol.Client(protocol);
    long appendCalls = 0;
    long batchCalls = 0;
    int group = 0;
    for (long start = first; start < first + count; start += batch, group++) {
      long end = Math.min(start + batch, first + count);
      if (group % 2 == 0) {
        List<ThriftFlumeEvent> events = new ArrayList<>();
        for (long n = start; n < end; n++) {
          events.add(event(n));
        }
        check("appendBatch(" + start + ")", client.appendBatch(events));
        batchCalls++;
      } else {
        for (long n = start; n < end; n++) {
          check("append(" + n + ")", client.append(event(n)));
          appendCalls++;
        }
      }
    }
    transport.close();
    System.out.println("sent=" + count + " append_calls=" + appendCalls + " batch_calls=" + batchCalls);
  }
}
