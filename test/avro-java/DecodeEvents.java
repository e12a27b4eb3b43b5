// Decodes Syncline event values with Apache Avro for Java, using only the published .avsc file:
// proof that the topics are readable outside Node.js. Prints one JSON object per file.
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;

public class DecodeEvents {
  public static void main(String[] args) throws Exception {
    Schema schema = new Schema.Parser().parse(Path.of(args[0]).toFile());
    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(schema);
    for (int i = 1; i < args.length; i++) {
      byte[] bytes = Files.readAllBytes(Path.of(args[i]));
      GenericRecord record = reader.read(null, DecoderFactory.get().binaryDecoder(bytes, null));
      System.out.println(record.toString());
    }
  }
}
