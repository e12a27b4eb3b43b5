// The three analysis components that x-pack security's own index (.security) declares and that Maven
// Central's integ-test distribution lacks (they live in the analysis-common module of the full
// distribution): the pattern_capture and unique token filters and the uax_url_email tokenizer. Without
// them the security index cannot be created, and with it no API key. stack.sh compiles this against the
// distribution's own jars and installs it into the stack's nodes; nothing of Syncline uses these.
package org.syncline.stack;

import java.io.IOException;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

public class AnalysisCompatPlugin extends Plugin implements AnalysisPlugin {
  @Override
  public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
    return Map.of(
        "pattern_capture",
        (indexSettings, env, name, settings) -> {
          boolean preserve = settings.getAsBoolean("preserve_original", true);
          Pattern[] patterns = settings.getAsList("patterns").stream().map(Pattern::compile).toArray(Pattern[]::new);
          return filter(name, in -> new PatternCaptureGroupTokenFilter(in, preserve, patterns));
        },
        "unique",
        (indexSettings, env, name, settings) -> filter(name, Unique::new));
  }

  @Override
  public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
    return Map.of(
        "uax_url_email",
        (indexSettings, env, name, settings) -> TokenizerFactory.newFactory(name, UAX29URLEmailTokenizer::new));
  }

  private static TokenFilterFactory filter(String name, java.util.function.Function<TokenStream, TokenStream> make) {
    return new TokenFilterFactory() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public TokenStream create(TokenStream in) {
        return make.apply(in);
      }
    };
  }

  /** Drops a term already seen in the stream. */
  static final class Unique extends TokenFilter {
    private final CharTermAttribute term = addAttribute(CharTermAttribute.class);
    private final CharArraySet seen = new CharArraySet(8, false);

    Unique(TokenStream in) {
      super(in);
    }

    @Override
    public boolean incrementToken() throws IOException {
      while (input.incrementToken()) {
        if (!seen.contains(term.buffer(), 0, term.length())) {
          seen.add(term.toString());
          return true;
        }
      }
      return false;
    }

    @Override
    public void reset() throws IOException {
      super.reset();
      seen.clear();
    }
  }
}
